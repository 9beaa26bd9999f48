//! calicoctl's table style: left-aligned columns separated by three spaces.

/// Renders `header` and `rows` as aligned text, one line each, ending with a newline.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            s.push_str(cell);
            if i + 1 < cells.len() {
                let pad = width
                    .get(i)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(cell.chars().count())
                    + 3;
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
    out
}

/// Renders a table with borders, headers centred, as `calicoctl node status` prints it.
pub fn render_boxed(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule: String = width
        .iter()
        .map(|w| format!("+{}", "-".repeat(w + 2)))
        .collect::<String>()
        + "+\n";
    let mut out = rule.clone();
    for (h, w) in header.iter().zip(&width) {
        let total = w - h.chars().count();
        let left = total / 2;
        out.push_str(&format!(
            "| {}{}{} ",
            " ".repeat(left),
            h,
            " ".repeat(total - left)
        ));
    }
    out.push_str("|\n");
    out.push_str(&rule);
    for r in rows {
        for (i, w) in width.iter().enumerate() {
            let cell = r.get(i).map(String::as_str).unwrap_or("");
            out.push_str(&format!(
                "| {cell}{} ",
                " ".repeat(w - cell.chars().count())
            ));
        }
        out.push_str("|\n");
    }
    out.push_str(&rule);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_like_calicoctl() {
        let rows = vec![
            vec![
                "kube-master01".into(),
                "(64512)".into(),
                "172.31.209.239/20".into(),
                String::new(),
            ],
            vec![
                "kube-worker01".into(),
                "(64512)".into(),
                "172.31.209.240/20".into(),
                String::new(),
            ],
        ];
        let t = render(&["NAME", "ASN", "IPV4", "IPV6"], &rows);
        assert_eq!(
            t,
            "NAME            ASN       IPV4                IPV6\n\
             kube-master01   (64512)   172.31.209.239/20\n\
             kube-worker01   (64512)   172.31.209.240/20\n"
        );
    }
}
