//! XCCDF's formatted text (descriptions, rationales, fix texts, fix scripts): XHTML flattened
//! into readable plain text, keeping the places where `<xccdf:sub idref=..>` inserts a Value,
//! because what is inserted depends on the profile the text is read under.

use serde::{Deserialize, Serialize};

use crate::ScapError;
use crate::xml::{Node, Ns, XmlReader};

/// Plain text with holes: a `Sub` is filled with a Value's value when the text is rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RichText {
    pub pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    Text(String),
    /// The id a `<xccdf:sub idref=..>` names: usually a Value, possibly a plain-text.
    Sub(String),
}

impl RichText {
    pub fn plain(text: impl Into<String>) -> RichText {
        let text = text.into();
        if text.is_empty() {
            return RichText::default();
        }
        RichText {
            pieces: vec![Piece::Text(text)],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The ids the text inserts, in order.
    pub fn substitutions(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Sub(id) => Some(id.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// The text with every hole filled by `lookup`, or by the id itself when `lookup` knows
    /// nothing better, so that a reader still sees which setting belongs there.
    pub fn render(&self, mut lookup: impl FnMut(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Sub(id) => match lookup(id) {
                    Some(value) => out.push_str(&value),
                    None => out.push_str(id),
                },
            }
        }
        out
    }
}

/// XML forbids U+0000 in a document, so it cannot clash with real text while it stands for a
/// hole during whitespace clean-up.
const HOLE: char = '\0';

#[derive(Default)]
struct Builder {
    text: String,
    holes: Vec<String>,
    /// Inside `<pre>` indentation is content; elsewhere it is the XML file's layout.
    preformatted: usize,
}

impl Builder {
    fn prose(&mut self, text: &str) {
        for c in text.chars() {
            let line_start = self.text.is_empty() || self.text.ends_with('\n');
            if c == HOLE || (self.preformatted == 0 && line_start && (c == ' ' || c == '\t')) {
                continue;
            }
            self.text.push(c);
        }
    }

    fn hole(&mut self, id: String) {
        self.text.push(HOLE);
        self.holes.push(id);
    }

    fn line_break(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn paragraph_break(&mut self) {
        if !self.text.is_empty() {
            self.line_break();
            if !self.text.ends_with("\n\n") {
                self.text.push('\n');
            }
        }
    }

    fn finish(self, clean_whitespace: bool) -> RichText {
        let text = if clean_whitespace {
            tidy_lines(&self.text)
        } else {
            self.text
        };
        let mut holes = self.holes.into_iter();
        let mut pieces = Vec::new();
        for (i, part) in text.split(HOLE).enumerate() {
            if i > 0
                && let Some(id) = holes.next()
            {
                pieces.push(Piece::Sub(id));
            }
            if !part.is_empty() {
                pieces.push(Piece::Text(part.to_string()));
            }
        }
        RichText { pieces }
    }
}

/// Trailing spaces off every line, runs of blank lines down to one, no blank lines around.
fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank_run = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run {
                out.push('\n');
            }
        }
        blank_run = false;
        out.push_str(line);
    }
    out
}

/// Reads the content of the element whose start was just read as prose (XHTML allowed).
pub(crate) fn read_prose(xml: &mut XmlReader<'_>) -> Result<RichText, ScapError> {
    let mut builder = Builder::default();
    walk_prose(xml, &mut builder)?;
    Ok(builder.finish(true))
}

/// Reads the content of the element whose start was just read as a script: every character
/// kept, only `sub` holes taken out; other markup (`xccdf:instance`) keeps its text.
pub(crate) fn read_verbatim(xml: &mut XmlReader<'_>) -> Result<RichText, ScapError> {
    let mut builder = Builder::default();
    let mut open = 1usize;
    while open > 0 {
        match xml.next()? {
            Some(Node::Start(element)) if element.is(Ns::Xccdf, "sub") => {
                builder.hole(xml.required_attr(&element, "idref")?);
                xml.skip()?;
            }
            Some(Node::Start(_)) => open += 1,
            Some(Node::End) => open -= 1,
            Some(Node::Text(text)) => builder.text.push_str(&text),
            None => unreachable!("the reader refuses an end of input inside an element"),
        }
    }
    Ok(builder.finish(false))
}

fn walk_prose(xml: &mut XmlReader<'_>, out: &mut Builder) -> Result<(), ScapError> {
    loop {
        let element = match xml.next()? {
            Some(Node::Text(text)) => {
                out.prose(&text);
                continue;
            }
            Some(Node::End) => return Ok(()),
            Some(Node::Start(element)) => element,
            None => unreachable!("the reader refuses an end of input inside an element"),
        };
        if element.is(Ns::Xccdf, "sub") {
            out.hole(xml.required_attr(&element, "idref")?);
            xml.skip()?;
            continue;
        }
        if element.ns != Ns::Xhtml {
            walk_prose(xml, out)?;
            continue;
        }
        match element.local_name() {
            "br" => {
                out.text.push('\n');
                xml.skip()?;
            }
            "pre" => {
                out.paragraph_break();
                out.preformatted += 1;
                walk_prose(xml, out)?;
                out.preformatted -= 1;
                out.paragraph_break();
            }
            "p" | "div" | "ul" | "ol" | "dl" | "table" | "blockquote" | "h1" | "h2" | "h3"
            | "h4" | "h5" | "h6" => {
                out.paragraph_break();
                walk_prose(xml, out)?;
                out.paragraph_break();
            }
            "li" | "dt" | "dd" | "tr" => {
                out.line_break();
                if element.local_name() == "li" {
                    out.text.push_str("- ");
                }
                walk_prose(xml, out)?;
                out.line_break();
            }
            "td" | "th" => {
                walk_prose(xml, out)?;
                out.text.push(' ');
            }
            "a" => {
                let href = xml.attr(&element, "href")?.unwrap_or_default();
                let start = out.text.len();
                walk_prose(xml, out)?;
                let shown = out.text[start..].trim();
                if !href.is_empty() && shown != href {
                    out.text.push_str(&format!(" ({href})"));
                }
            }
            "img" => {
                let alt = xml.attr(&element, "alt")?.unwrap_or_default();
                out.text.push_str(&alt);
                xml.skip()?;
            }
            _ => walk_prose(xml, out)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prose(body: &str) -> RichText {
        let doc = format!(
            r#"<d xmlns:h="http://www.w3.org/1999/xhtml" xmlns:x="http://checklists.nist.gov/xccdf/1.2">{body}</d>"#
        );
        let mut xml = XmlReader::new(doc.as_bytes()).unwrap();
        xml.root().unwrap();
        read_prose(&mut xml).unwrap()
    }

    fn check(body: &str, expected: &str) {
        let rendered = prose(body).render(|id| Some(format!("<{id}>")));
        assert_eq!(rendered, expected, "for {body:?}");
    }

    #[test]
    fn xhtml_becomes_readable_text() {
        check("plain", "plain");
        check("  spaced  \n  ", "spaced");
        check("a<h:br/>b", "a\nb");
        check(
            "edit <h:code>/etc/login.defs</h:code> now",
            "edit /etc/login.defs now",
        );
        check(
            "add the line:\n<h:pre>PASS_MAX_DAYS 60</h:pre>\nA value",
            "add the line:\n\nPASS_MAX_DAYS 60\n\nA value",
        );
        check(
            "<h:p>one</h:p><h:p>two</h:p>\n\n\n\n<h:p>three</h:p>",
            "one\n\ntwo\n\nthree",
        );
        check(
            "list:<h:ul><h:li>a</h:li><h:li>b</h:li></h:ul>",
            "list:\n\n- a\n- b",
        );
        check(
            r#"see <h:a href="https://example.org/x">the guide</h:a>."#,
            "see the guide (https://example.org/x).",
        );
        check(
            r#"<h:a href="https://example.org">https://example.org</h:a>"#,
            "https://example.org",
        );
        check("a &lt;b&gt; &amp; &#65;&#x42;", "a <b> & AB");
        check(
            "<h:em>catalog, not a\nchecklist</h:em>",
            "catalog, not a\nchecklist",
        );
        check(
            "\n      indented by the file\n      <h:pre>  indented by the author\n    too</h:pre>",
            "indented by the file\n\n  indented by the author\n    too",
        );
    }

    #[test]
    fn subs_stay_holes_until_rendered() {
        let text = prose(r#"max <x:sub idref="v_max" use="legacy"/> days"#);
        assert_eq!(
            text.pieces,
            vec![
                Piece::Text("max ".into()),
                Piece::Sub("v_max".into()),
                Piece::Text(" days".into())
            ]
        );
        assert_eq!(text.render(|_| Some("60".into())), "max 60 days");
        assert_eq!(text.render(|_| None), "max v_max days");
        assert_eq!(text.substitutions().collect::<Vec<_>>(), ["v_max"]);
        check(r#"<h:pre>X <x:sub idref="v"/></h:pre>"#, "X <v>");
    }

    #[test]
    fn scripts_keep_every_character() {
        let doc = "<fix xmlns:x=\"http://checklists.nist.gov/xccdf/1.2\">\n# set\nv='<x:sub idref=\"v\"/>'\n\n\n  grep a &amp;&amp; b   \n</fix>";
        let mut xml = XmlReader::new(doc.as_bytes()).unwrap();
        xml.root().unwrap();
        let text = read_verbatim(&mut xml).unwrap();
        assert_eq!(
            text.render(|_| Some("1".into())),
            "\n# set\nv='1'\n\n\n  grep a && b   \n"
        );
    }
}
