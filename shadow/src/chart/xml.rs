//! XML escaping and a small well-formedness check for the SVG output.

/// Escapes text for XML content and attribute values.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Checks that `svg` is well-formed enough for a renderer: balanced tags, quoted attributes, and no bare `&`
/// or `<` in text. Returns the element names in document order.
///
/// # Errors
/// A message saying where the document is malformed.
pub fn check_well_formed(svg: &str) -> Result<Vec<String>, String> {
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = svg;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open])?;
        let tail = &rest[open + 1..];
        let close = tail.find('>').ok_or("unterminated tag")?;
        let tag = &tail[..close];
        if tag.matches('"').count() % 2 != 0 {
            return Err(format!("unbalanced quotes in <{tag}>"));
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(top) if top == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if !tag.starts_with('?') && !tag.starts_with('!') {
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if name.is_empty() {
                return Err("empty tag name".into());
            }
            names.push(name.clone());
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &tail[close + 1..];
    }
    check_text(rest)?;
    match stack.last() {
        Some(open) => Err(format!("<{open}> is never closed")),
        None if names.is_empty() => Err("no elements".into()),
        None => Ok(names),
    }
}

fn check_text(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity: String = text[i..].chars().take_while(|c| *c != ';').collect();
        if !["&amp", "&lt", "&gt", "&quot", "&apos"].contains(&entity.as_str()) && !entity.starts_with("&#") {
            return Err(format!(
                "bare `&` in text near {:?}",
                &text[i..(i + 12).min(text.len())]
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checker_rejects_malformed_documents() {
        assert!(check_well_formed("<svg><g></svg>").is_err());
        assert!(check_well_formed("<svg><text>a & b</text></svg>").is_err());
        assert!(check_well_formed("<svg><rect x=\"1/></svg>").is_err());
        assert!(check_well_formed("<svg/>").is_ok());
    }
}
