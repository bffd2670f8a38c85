//! The one error type of SCAP parsing: every variant says what was wrong and, when it comes
//! from the document, on which line, so that a refused import can be fixed by reading it.

/// Why a data stream or an ARF document was refused, or a profile could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScapError {
    /// A document type declaration: it could define entities (billion laughs, external files),
    /// and SCAP content never needs one.
    #[error("DTDs are refused (line {line})")]
    DtdRefused { line: u64 },

    /// An entity other than the five predefined ones: without a DTD it has no meaning, and
    /// custom entities are never expanded.
    #[error(
        "entity &{name}; is refused (line {line}): only the predefined XML entities and character references are expanded"
    )]
    EntityRefused { name: String, line: u64 },

    #[error("input is not UTF-8 (line {line})")]
    NotUtf8 { line: u64 },

    #[error("malformed XML (line {line}): {message}")]
    Malformed { line: u64, message: String },

    #[error(
        "not an SCAP source data stream: the root element is <{root}>, expected ds:data-stream-collection"
    )]
    NotADataStream { root: String },

    #[error(
        "not an ARF result: the root element is <{root}>, expected arf:asset-report-collection"
    )]
    NotAnArf { root: String },

    #[error("<{element}> (line {line}) has no {attribute} attribute")]
    MissingAttribute {
        element: String,
        attribute: String,
        line: u64,
    },

    #[error("<{element}> (line {line}) has no {child} element")]
    MissingElement {
        element: String,
        child: String,
        line: u64,
    },

    #[error("invalid {what} {value:?} (line {line})")]
    InvalidValue {
        what: String,
        value: String,
        line: u64,
    },

    #[error("the data stream holds no XCCDF 1.2 benchmark")]
    NoBenchmark,

    #[error("unknown profile {id:?}; available profiles: {}", available.join(", "))]
    UnknownProfile { id: String, available: Vec<String> },

    #[error("profile {profile:?} extends {parent:?}, which is not a profile of this benchmark")]
    UnknownParentProfile { profile: String, parent: String },

    #[error("profile {profile:?} extends itself through {}", chain.join(" -> "))]
    ProfileCycle { profile: String, chain: Vec<String> },

    #[error(
        "benchmark {benchmark:?} has more than {limit} profiles; Bulwark reads at most {limit}"
    )]
    TooManyProfiles { benchmark: String, limit: usize },

    #[error(
        "profile {profile:?} extends a chain of more than {limit} profiles; Bulwark follows at most {limit}"
    )]
    ProfileChainTooLong { profile: String, limit: usize },
}
