//! Recursive-descent parser: text to [`Expr`].
//!
//! ```text
//! selector := <empty> | or EOF
//! or       := and ("||" and)*
//! and      := unary ("&&" unary)*
//! unary    := "!" unary | "(" or ")" | "all" "(" ")" | "global" "(" ")"
//!           | "has" "(" key ")" | key op
//! op       := ("==" | "!=" | "contains" | "starts" "with" | "ends" "with") string
//!           | ("in" | "not" "in") "{" [string ("," string)*] "}"
//! ```

use std::collections::BTreeSet;

use super::SelectorError;
use super::ast::{CmpOp, Expr};
use super::lexer::{Lexer, Token};

/// How deeply `(` and `!` may nest; keeps recursion (here and over the AST) bounded.
pub(super) const MAX_DEPTH: usize = 100;

/// Parses selector text; whitespace-only text is `all()`.
pub(super) fn parse(src: &str) -> Result<Expr, SelectorError> {
    let mut parser = Parser::new(src)?;
    if parser.peek == Token::Eof {
        return Ok(Expr::All);
    }
    let expr = parser.parse_or(0)?;
    if parser.peek != Token::Eof {
        return Err(parser.unexpected("\"&&\", \"||\" or end of selector"));
    }
    Ok(expr)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// The current (not yet consumed) token and its byte offset.
    peek: Token<'a>,
    offset: usize,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Result<Self, SelectorError> {
        let mut lexer = Lexer::new(src);
        let (peek, offset) = lexer.next_token()?;
        Ok(Parser {
            lexer,
            peek,
            offset,
        })
    }

    /// Consumes the current token, returning it and its offset.
    fn bump(&mut self) -> Result<(Token<'a>, usize), SelectorError> {
        let (next, offset) = self.lexer.next_token()?;
        let token = std::mem::replace(&mut self.peek, next);
        Ok((token, std::mem::replace(&mut self.offset, offset)))
    }

    /// Consumes the current token if it equals `token`.
    fn eat(&mut self, token: &Token<'_>) -> Result<bool, SelectorError> {
        if self.peek == *token {
            self.bump()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Consumes the current token if it is the keyword `word`.
    fn eat_word(&mut self, word: &str) -> Result<bool, SelectorError> {
        self.eat(&Token::Word(word))
    }

    /// An error at the current token: "expected X[, found Y]".
    fn unexpected(&self, expected: &str) -> SelectorError {
        let message = match self.peek {
            Token::Eof => format!("expected {expected}"),
            ref found => format!("expected {expected}, found {}", found.describe()),
        };
        self.lexer.error(self.offset, message)
    }

    /// Consumes `token` or fails with "expected X".
    fn expect(&mut self, token: &Token<'_>, expected: &str) -> Result<(), SelectorError> {
        if self.eat(token)? {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn parse_or(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let mut operands = vec![self.parse_and(depth)?];
        while self.eat(&Token::Or)? {
            operands.push(self.parse_and(depth)?);
        }
        Ok(Expr::or(operands))
    }

    fn parse_and(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        let mut operands = vec![self.parse_unary(depth)?];
        while self.eat(&Token::And)? {
            operands.push(self.parse_unary(depth)?);
        }
        Ok(Expr::and(operands))
    }

    fn parse_unary(&mut self, depth: usize) -> Result<Expr, SelectorError> {
        if matches!(self.peek, Token::Not | Token::LParen) && depth >= MAX_DEPTH {
            return Err(self.lexer.error(
                self.offset,
                format!("selector nests \"!\" and \"(\" more than {MAX_DEPTH} deep"),
            ));
        }
        match self.peek {
            Token::Not => {
                self.bump()?;
                Ok(Expr::Not(Box::new(self.parse_unary(depth + 1)?)))
            }
            Token::LParen => {
                let (_, open) = self.bump()?;
                let inner = self.parse_or(depth + 1)?;
                let col = self.lexer.column(open);
                self.expect(
                    &Token::RParen,
                    &format!("\")\" to close the \"(\" at column {col}"),
                )?;
                Ok(inner)
            }
            Token::Word(word) => {
                let (_, start) = self.bump()?;
                if self.peek == Token::LParen {
                    match word {
                        "all" => return self.parse_empty_call("all", Expr::All),
                        "global" => return self.parse_empty_call("global", Expr::Global),
                        "has" => return self.parse_has(),
                        _ => {}
                    }
                }
                let key = self.check_key(word, start)?;
                self.parse_op(key)
            }
            _ => Err(self.unexpected("a label key, \"has(...)\", \"all()\", \"!\" or \"(\"")),
        }
    }

    /// `all()` / `global()` after the name: `(` `)`.
    fn parse_empty_call(&mut self, name: &str, expr: Expr) -> Result<Expr, SelectorError> {
        self.bump()?;
        self.expect(&Token::RParen, &format!("\")\" after \"{name}(\""))?;
        Ok(expr)
    }

    /// `has(key)` after `has`.
    fn parse_has(&mut self) -> Result<Expr, SelectorError> {
        self.bump()?;
        let Token::Word(word) = self.peek else {
            return Err(self.unexpected("a label key inside \"has(...)\""));
        };
        let (_, start) = self.bump()?;
        let key = self.check_key(word, start)?;
        self.expect(&Token::RParen, "\")\" to close \"has(\"")?;
        Ok(Expr::Has(key))
    }

    /// Validates a label key starting at byte offset `start`.
    fn check_key(&self, word: &str, start: usize) -> Result<String, SelectorError> {
        if word.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            Ok(word.to_owned())
        } else {
            Err(self.lexer.error(
                start,
                format!("invalid label key {word:?}: must start with a letter or digit"),
            ))
        }
    }

    /// The operator and operand after a label key.
    fn parse_op(&mut self, key: String) -> Result<Expr, SelectorError> {
        let op = match self.peek {
            Token::Eq => CmpOp::Eq,
            Token::Ne => CmpOp::Ne,
            Token::Word("contains") => CmpOp::Contains,
            Token::Word("starts") => CmpOp::StartsWith,
            Token::Word("ends") => CmpOp::EndsWith,
            Token::Word("in") => {
                self.bump()?;
                return self.parse_set(key, false);
            }
            Token::Word("not") => {
                self.bump()?;
                if !self.eat_word("in")? {
                    return Err(self.unexpected("\"in\" after \"not\""));
                }
                return self.parse_set(key, true);
            }
            _ => {
                return Err(self.unexpected(&format!(
                    "an operator (==, !=, in, not in, contains, starts with, ends with) \
                     after label key {key:?}"
                )));
            }
        };
        let (first, _) = self.bump()?;
        if matches!(op, CmpOp::StartsWith | CmpOp::EndsWith) && !self.eat_word("with")? {
            return Err(self.unexpected(&format!("\"with\" after {}", first.describe())));
        }
        let value = self.parse_string(op.as_str())?;
        Ok(Expr::Cmp(key, op, value))
    }

    /// A quoted string following the operator `after`.
    fn parse_string(&mut self, after: &str) -> Result<String, SelectorError> {
        match self.peek {
            Token::Str(value) => {
                self.bump()?;
                Ok(value.to_owned())
            }
            _ => Err(self.unexpected(&format!("a quoted string after \"{after}\""))),
        }
    }

    /// `{ "a", "b" }` after `in` / `not in`.
    fn parse_set(&mut self, key: String, negated: bool) -> Result<Expr, SelectorError> {
        let op = if negated { "not in" } else { "in" };
        self.expect(&Token::LBrace, &format!("\"{{\" after \"{op}\""))?;
        let mut values = BTreeSet::new();
        if !self.eat(&Token::RBrace)? {
            let mut expected = "a quoted string or \"}\" after \"{\"";
            loop {
                let Token::Str(value) = self.peek else {
                    return Err(self.unexpected(expected));
                };
                self.bump()?;
                values.insert(value.to_owned());
                if self.eat(&Token::RBrace)? {
                    break;
                }
                if !self.eat(&Token::Comma)? {
                    return Err(self.unexpected("\",\" or \"}\" to continue or close the set"));
                }
                expected = "a quoted string after \",\"";
            }
        }
        Ok(Expr::In {
            key,
            values,
            negated,
        })
    }
}
