//! The hardened streaming reader that both the data stream and the ARF parsers walk: events one
//! at a time (never a tree of the whole document), DTDs refused, no entity expanded but the
//! five predefined ones and character references, nesting bounded, and every error placed on
//! its line.

use std::borrow::Cow;

use quick_xml::XmlVersion;
use quick_xml::errors::Error as XmlError;
use quick_xml::escape::{EscapeError, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::reader::NsReader;

use crate::ScapError;

pub(crate) const DS_NS: &str = "http://scap.nist.gov/schema/scap/source/1.2";
pub(crate) const XCCDF_NS: &str = "http://checklists.nist.gov/xccdf/1.2";
pub(crate) const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";
pub(crate) const CPE_LANG_NS: &str = "http://cpe.mitre.org/language/2.0";
pub(crate) const CPE_DICT_NS: &str = "http://cpe.mitre.org/dictionary/2.0";
pub(crate) const ARF_NS: &str = "http://scap.nist.gov/schema/asset-reporting-format/1.1";
const XLINK_NS: &str = "http://www.w3.org/1999/xlink";

/// Real SCAP content nests a few dozen levels at most (groups in groups, OVAL criteria); a
/// document nested deeper is an attack on the parser's stack or time, not content.
const MAX_DEPTH: usize = 256;

/// The namespaces the parsers tell apart; an element anywhere else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    Ds,
    Xccdf,
    Xhtml,
    CpeLang,
    CpeDict,
    Arf,
    Other,
}

impl Ns {
    fn of(resolved: ResolveResult<'_>) -> Ns {
        let ResolveResult::Bound(ns) = resolved else {
            return Ns::Other;
        };
        match ns.0 {
            DS_NS => Ns::Ds,
            XCCDF_NS => Ns::Xccdf,
            XHTML_NS => Ns::Xhtml,
            CPE_LANG_NS => Ns::CpeLang,
            CPE_DICT_NS => Ns::CpeDict,
            ARF_NS => Ns::Arf,
            _ => Ns::Other,
        }
    }
}

/// A start tag, with what is needed to read its attributes and to place an error on its line.
pub(crate) struct Element<'a> {
    pub ns: Ns,
    start: BytesStart<'a>,
    offset: u64,
}

impl Element<'_> {
    pub fn is(&self, ns: Ns, local_name: &str) -> bool {
        self.ns == ns && self.local_name() == local_name
    }

    pub fn local_name(&self) -> &str {
        self.start.local_name().into_inner()
    }

    /// The name as written, prefix included: what a person looks for in the file.
    pub fn name(&self) -> &str {
        self.start.name().into_inner()
    }
}

pub(crate) enum Node<'a> {
    Start(Element<'a>),
    End,
    Text(Cow<'a, str>),
}

pub(crate) struct XmlReader<'a> {
    input: &'a str,
    reader: NsReader<&'a [u8]>,
    depth: usize,
}

impl<'a> XmlReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, ScapError> {
        let input = std::str::from_utf8(bytes).map_err(|e| ScapError::NotUtf8 {
            line: line_at(bytes, e.valid_up_to()),
        })?;
        let mut reader = NsReader::from_str(input);
        let config = reader.config_mut();
        // One code path for `<a/>` and `<a></a>`: every element is a Start and an End.
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        Ok(XmlReader {
            input,
            reader,
            depth: 0,
        })
    }

    /// The 1-based line of a byte offset in the input; only computed for errors.
    pub fn line(&self, offset: u64) -> u64 {
        let end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        line_at(self.input.as_bytes(), end)
    }

    pub fn element_line(&self, element: &Element<'_>) -> u64 {
        self.line(element.offset)
    }

    fn malformed(&self, error: XmlError) -> ScapError {
        let line = self.line(self.reader.error_position());
        match error {
            XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                ScapError::EntityRefused { name, line }
            }
            other => ScapError::Malformed {
                line,
                message: other.to_string(),
            },
        }
    }

    pub fn next(&mut self) -> Result<Option<Node<'a>>, ScapError> {
        loop {
            let offset = self.reader.buffer_position();
            let event = self.reader.read_event().map_err(|e| self.malformed(e))?;
            match event {
                Event::Start(start) => {
                    self.depth += 1;
                    if self.depth > MAX_DEPTH {
                        return Err(ScapError::Malformed {
                            line: self.line(offset),
                            message: format!("elements nested deeper than {MAX_DEPTH} levels"),
                        });
                    }
                    let ns = Ns::of(self.reader.resolver().resolve_element(start.name()).0);
                    return Ok(Some(Node::Start(Element { ns, start, offset })));
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(Some(Node::End));
                }
                Event::Empty(_) => unreachable!("expand_empty_elements is set"),
                Event::Text(text) => return Ok(Some(Node::Text(text.xml10_content()))),
                Event::CData(data) => return Ok(Some(Node::Text(data.xml10_content()))),
                Event::GeneralRef(reference) => {
                    // Lines are counted only for an error: counting for every `&amp;` of a
                    // 20 MB file would make reading it quadratic.
                    let char_ref =
                        reference
                            .resolve_char_ref()
                            .map_err(|e| ScapError::Malformed {
                                line: self.line(offset),
                                message: e.to_string(),
                            })?;
                    if let Some(c) = char_ref {
                        return Ok(Some(Node::Text(Cow::Owned(c.to_string()))));
                    }
                    return match resolve_predefined_entity(&reference) {
                        Some(text) => Ok(Some(Node::Text(Cow::Borrowed(text)))),
                        None => Err(ScapError::EntityRefused {
                            name: reference.to_string(),
                            line: self.line(offset),
                        }),
                    };
                }
                Event::DocType(_) => {
                    return Err(ScapError::DtdRefused {
                        line: self.line(offset),
                    });
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
                Event::Eof if self.depth > 0 => {
                    return Err(ScapError::Malformed {
                        line: self.line(offset),
                        message: format!(
                            "the document ends with {} element(s) still open",
                            self.depth
                        ),
                    });
                }
                Event::Eof => return Ok(None),
            }
        }
    }

    /// The root element; comments, the XML declaration and whitespace before it are passed.
    pub fn root(&mut self) -> Result<Element<'a>, ScapError> {
        loop {
            match self.next()? {
                Some(Node::Start(element)) => return Ok(element),
                Some(Node::Text(text)) if text.trim().is_empty() => {}
                Some(Node::Text(_)) => {
                    return Err(self.malformed_here("text before the root element"));
                }
                Some(Node::End) => unreachable!("quick-xml reports an end tag without a start"),
                None => return Err(self.malformed_here("the document has no root element")),
            }
        }
    }

    /// After the root element's end tag only whitespace and comments may follow.
    pub fn finish(&mut self) -> Result<(), ScapError> {
        loop {
            match self.next()? {
                None => return Ok(()),
                Some(Node::Text(text)) if text.trim().is_empty() => {}
                Some(_) => return Err(self.malformed_here("content after the root element")),
            }
        }
    }

    fn malformed_here(&self, message: &str) -> ScapError {
        ScapError::Malformed {
            line: self.line(self.reader.buffer_position()),
            message: message.to_string(),
        }
    }

    /// The next child element of the element being read, or `None` at its end tag. Text
    /// between children is whitespace in element-only content, and ignored.
    pub fn next_child(&mut self) -> Result<Option<Element<'a>>, ScapError> {
        loop {
            match self.next()? {
                Some(Node::Start(element)) => return Ok(Some(element)),
                Some(Node::End) => return Ok(None),
                Some(Node::Text(_)) => {}
                None => unreachable!("next() refuses an end of input inside an element"),
            }
        }
    }

    /// Reads past the end tag of the element whose start was just read, checking all of it
    /// (entities, nesting, well-formedness) like the rest of the document.
    pub fn skip(&mut self) -> Result<(), ScapError> {
        let mut open = 1usize;
        while open > 0 {
            match self.next()? {
                Some(Node::Start(_)) => open += 1,
                Some(Node::End) => open -= 1,
                Some(Node::Text(_)) => {}
                None => unreachable!("next() refuses an end of input inside an element"),
            }
        }
        Ok(())
    }

    /// All the text inside the element whose start was just read, markup dropped, trimmed.
    pub fn text(&mut self) -> Result<String, ScapError> {
        let text = self.raw_text()?;
        let trimmed = text.trim();
        Ok(if trimmed.len() == text.len() {
            text
        } else {
            trimmed.to_string()
        })
    }

    /// All the text inside the element whose start was just read, markup dropped, every
    /// space kept (a Value's value may be spaces).
    pub fn raw_text(&mut self) -> Result<String, ScapError> {
        let mut text = String::new();
        let mut open = 1usize;
        while open > 0 {
            match self.next()? {
                Some(Node::Start(_)) => open += 1,
                Some(Node::End) => open -= 1,
                Some(Node::Text(t)) => text.push_str(&t),
                None => unreachable!("next() refuses an end of input inside an element"),
            }
        }
        Ok(text)
    }

    /// An unprefixed attribute (`id`, `idref`, ...), entity references expanded as allowed.
    pub fn attr(&self, element: &Element<'_>, name: &str) -> Result<Option<String>, ScapError> {
        self.find_attr(element, |key| key == name)
    }

    /// `xlink:href`, whatever prefix the document bound to the XLink namespace. Namespace
    /// bindings change as the reader moves on, so this is asked right after the element's
    /// start was read, before its children.
    pub fn xlink_href(&self, element: &Element<'_>) -> Result<Option<String>, ScapError> {
        let resolver = self.reader.resolver();
        self.find_attr(element, |key| {
            let (ns, local) = resolver.resolve_attribute(QName(key));
            local.into_inner() == "href"
                && matches!(ns, ResolveResult::Bound(ns) if ns.0 == XLINK_NS)
        })
    }

    fn find_attr(
        &self,
        element: &Element<'_>,
        matches: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, ScapError> {
        for attribute in element.start.attributes() {
            let attribute = attribute.map_err(|e| ScapError::Malformed {
                line: self.element_line(element),
                message: e.to_string(),
            })?;
            if matches(attribute.key.into_inner()) {
                let value = attribute
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|e| match e {
                        XmlError::Escape(EscapeError::UnrecognizedEntity(_, name)) => {
                            ScapError::EntityRefused {
                                name,
                                line: self.element_line(element),
                            }
                        }
                        other => ScapError::Malformed {
                            line: self.element_line(element),
                            message: other.to_string(),
                        },
                    })?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    pub fn required_attr(&self, element: &Element<'_>, name: &str) -> Result<String, ScapError> {
        self.attr(element, name)?
            .ok_or_else(|| ScapError::MissingAttribute {
                element: element.name().to_string(),
                attribute: name.to_string(),
                line: self.element_line(element),
            })
    }

    /// An `xsd:boolean` attribute: `true`/`1` or `false`/`0`.
    pub fn bool_attr(
        &self,
        element: &Element<'_>,
        name: &str,
        default: bool,
    ) -> Result<bool, ScapError> {
        match self.attr(element, name)?.as_deref().map(str::trim) {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => Err(ScapError::InvalidValue {
                what: format!("{name} attribute of <{}>", element.name()),
                value: other.to_string(),
                line: self.element_line(element),
            }),
        }
    }
}

fn line_at(bytes: &[u8], end: usize) -> u64 {
    let newlines = bytes[..end].iter().filter(|b| **b == b'\n').count();
    u64::try_from(newlines).unwrap_or(u64::MAX) + 1
}
