//! Tokenizer for the selector language. Tokens are produced on demand so that the
//! leftmost problem in a selector is the one reported.

use super::SelectorError;

/// One token of selector text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Token<'a> {
    /// A run of label-key characters: a label key or a contextual keyword
    /// (`has`, `all`, `global`, `in`, `not`, `contains`, `starts`, `ends`, `with`).
    Word(&'a str),
    /// A quoted string, without its quotes (the language has no escapes).
    Str(&'a str),
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `{`
    LBrace,
    /// `}`
    RBrace,
    /// `,`
    Comma,
    /// End of the selector text.
    Eof,
}

impl Token<'_> {
    /// How the token is named in "found ..." parts of error messages.
    pub(super) fn describe(&self) -> String {
        match self {
            Token::Word(w) => format!("{w:?}"),
            Token::Str(_) => "a quoted string".to_owned(),
            Token::And => "\"&&\"".to_owned(),
            Token::Or => "\"||\"".to_owned(),
            Token::Not => "\"!\"".to_owned(),
            Token::Eq => "\"==\"".to_owned(),
            Token::Ne => "\"!=\"".to_owned(),
            Token::LParen => "\"(\"".to_owned(),
            Token::RParen => "\")\"".to_owned(),
            Token::LBrace => "\"{\"".to_owned(),
            Token::RBrace => "\"}\"".to_owned(),
            Token::Comma => "\",\"".to_owned(),
            Token::Eof => "end of selector".to_owned(),
        }
    }
}

/// True for characters allowed in label keys (and keywords).
pub(super) fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-')
}

/// Converts a byte offset into `src` to a 1-based column counted in characters.
pub(super) fn column(src: &str, offset: usize) -> usize {
    src.get(..offset).map_or(offset, |s| s.chars().count()) + 1
}

/// Splits selector text into tokens, one at a time.
pub(super) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    /// The 1-based character column of byte offset `offset`.
    pub(super) fn column(&self, offset: usize) -> usize {
        column(self.src, offset)
    }

    /// An error located at byte offset `offset`.
    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> SelectorError {
        SelectorError {
            column: self.column(offset),
            message: message.into(),
        }
    }

    /// Returns the next token and the byte offset where it starts.
    pub(super) fn next_token(&mut self) -> Result<(Token<'a>, usize), SelectorError> {
        let rest = &self.src[self.pos..];
        let trimmed = rest.trim_start();
        let start = self.pos + (rest.len() - trimmed.len());
        let mut chars = trimmed.chars();
        let Some(c) = chars.next() else {
            self.pos = self.src.len();
            return Ok((Token::Eof, start));
        };
        let next = chars.next();
        let (token, len) = match (c, next) {
            ('&', Some('&')) => (Token::And, 2),
            ('|', Some('|')) => (Token::Or, 2),
            ('=', Some('=')) => (Token::Eq, 2),
            ('!', Some('=')) => (Token::Ne, 2),
            ('!', _) => (Token::Not, 1),
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('{', _) => (Token::LBrace, 1),
            ('}', _) => (Token::RBrace, 1),
            (',', _) => (Token::Comma, 1),
            ('"' | '\'', _) => {
                let body = &trimmed[1..];
                let Some(end) = body.find(c) else {
                    return Err(self.error(
                        start,
                        format!("unterminated string: expected a closing {c}"),
                    ));
                };
                (Token::Str(&body[..end]), end + 2)
            }
            _ if is_word_char(c) => {
                let len = trimmed
                    .find(|ch| !is_word_char(ch))
                    .unwrap_or(trimmed.len());
                (Token::Word(&trimmed[..len]), len)
            }
            _ => return Err(self.error(start, format!("unexpected character {c:?}"))),
        };
        self.pos = start + len;
        Ok((token, start))
    }
}
