//! An XCCDF 1.2 benchmark as a data stream holds it: profiles, groups, rules and values in
//! document order, with the group tree kept as parent links so that selection can follow it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::RichText;

/// The URIs SCAP content uses for CCE identifiers: the current one and the older NVD page that
/// SSG releases before 0.1.66 wrote.
pub const CCE_SYSTEMS: [&str; 2] = [
    "https://ncp.nist.gov/cce",
    "https://nvd.nist.gov/cce/index.cfm",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benchmark {
    pub id: String,
    /// The `ds:component` that holds the benchmark.
    pub component_id: String,
    pub title: String,
    pub version: Option<String>,
    /// The latest `status` (draft, accepted, ...).
    pub status: Option<String>,
    pub description: RichText,
    /// The CPE names the benchmark applies to: its `platform idref`s, a `#id` reference to a
    /// CPE applicability-language platform replaced by that platform's fact-ref names.
    pub platforms: Vec<String>,
    /// The benchmark's CPE applicability-language platforms, which rules name as `#id`.
    pub cpe_platforms: Vec<CpePlatform>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) groups: Vec<Group>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) values: Vec<Value>,
    pub(crate) plain_texts: Vec<PlainText>,
}

/// Profiles a benchmark may have (the SCAP Security Guide's have a few dozen): resolving one
/// walks its `extends` chain, so unbounded counts and chains would let one upload burn minutes.
pub const MAX_PROFILES: usize = 500;
/// Profiles an `extends` chain may pass through, the profile itself included.
pub const MAX_EXTENDS_CHAIN: usize = 32;

impl Benchmark {
    /// The profiles as written (an extending profile's own elements only; see
    /// [`Benchmark::resolve_profile`] for what it selects).
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Every group in document order; a group's `parent` indexes this slice.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// Every rule in document order; a rule's `group` indexes [`Benchmark::groups`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn value(&self, id: &str) -> Option<&Value> {
        self.values.iter().find(|v| v.id == id)
    }

    pub fn plain_texts(&self) -> &[PlainText] {
        &self.plain_texts
    }

    /// The groups enclosing a group or rule, outermost first.
    pub fn group_path(&self, innermost: Option<usize>) -> Vec<&Group> {
        let mut path = Vec::new();
        let mut at = innermost;
        while let Some(index) = at {
            let group = &self.groups[index];
            path.push(group);
            at = group.parent;
        }
        path.reverse();
        path
    }

    /// A text as the benchmark reads without a profile: holes filled with Values' defaults.
    pub fn render(&self, text: &RichText) -> String {
        text.render(|id| {
            self.value(id)
                .and_then(|v| v.value_for(None))
                .map(str::to_string)
                .or_else(|| self.plain_text(id).map(str::to_string))
        })
    }

    pub(crate) fn plain_text(&self, id: &str) -> Option<&str> {
        self.plain_texts
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.text.as_str())
    }
}

/// A named platform of the CPE applicability language (`cpe-lang:platform`): its logical
/// tests flattened into the CPE names they mention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpePlatform {
    pub id: String,
    pub title: Option<String>,
    pub fact_refs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlainText {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: String,
    pub title: String,
    pub description: RichText,
    /// The profile whose selections and values this one starts from.
    pub extends: Option<String>,
    pub is_abstract: bool,
    pub selections: Vec<Selection>,
    pub value_settings: Vec<ValueSetting>,
    pub rule_refinements: Vec<RuleRefinement>,
}

/// `<select idref=.. selected=..>`: the id of a group, a rule, or a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub idref: String,
    pub selected: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ValueSetting {
    /// `<refine-value idref=.. selector=..>`: one of the Value's own options.
    Refine { idref: String, selector: String },
    /// `<set-value idref=..>literal</set-value>`.
    Set { idref: String, value: String },
}

impl ValueSetting {
    pub fn idref(&self) -> &str {
        match self {
            ValueSetting::Refine { idref, .. } | ValueSetting::Set { idref, .. } => idref,
        }
    }
}

/// `<refine-rule>`: a profile's change to a rule's severity or check selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRefinement {
    pub idref: String,
    pub severity: Option<Severity>,
    pub selector: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub description: RichText,
    /// The `selected` attribute: whether the group is selected when no profile says.
    pub selected: bool,
    pub cluster_id: Option<String>,
    /// Index of the enclosing group in [`Benchmark::groups`].
    pub parent: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: String,
    /// The `selected` attribute: whether the rule is selected when no profile says.
    pub selected: bool,
    pub severity: Severity,
    pub cluster_id: Option<String>,
    pub title: String,
    pub description: RichText,
    pub rationale: RichText,
    pub warnings: Vec<RichText>,
    pub fixtexts: Vec<RichText>,
    pub fixes: Vec<Fix>,
    pub idents: Vec<Ident>,
    pub references: Vec<Reference>,
    /// Checks in document order; those of a `complex-check` are flattened in.
    pub checks: Vec<Check>,
    /// `platform idref`s: CPE names or `#id`s of [`Benchmark::cpe_platforms`].
    pub platforms: Vec<String>,
    /// Index of the enclosing group in [`Benchmark::groups`].
    pub group: Option<usize>,
}

impl Rule {
    pub fn cces(&self) -> impl Iterator<Item = &str> {
        self.idents
            .iter()
            .filter(|i| i.is_cce())
            .map(|i| i.id.as_str())
    }

    /// The OVAL definition that decides the rule, the check `oscap` runs.
    pub fn oval_check(&self) -> Option<&CheckContentRef> {
        self.checks
            .iter()
            .filter(|c| c.system == OVAL_SYSTEM)
            .find_map(|c| c.content_refs.first())
    }
}

pub const OVAL_SYSTEM: &str = "http://oval.mitre.org/XMLSchema/oval-definitions-5";

/// XCCDF's five severities; `Unknown` is also what a rule without the attribute has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Info,
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "unknown" => Ok(Severity::Unknown),
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            _ => Err(()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// How to apply it, e.g. `urn:xccdf:fix:script:sh` or `urn:xccdf:fix:script:ansible`.
    pub system: Option<String>,
    pub id: Option<String>,
    /// XCCDF's `disruption` (low, medium, high; `unknown` and absent are none).
    pub disruption: Option<String>,
    /// XCCDF's `reboot`.
    pub reboot: bool,
    pub text: RichText,
}

/// An identifier of the rule in another scheme: a CCE id, or others (system + id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ident {
    pub system: String,
    pub id: String,
}

impl Ident {
    pub fn is_cce(&self) -> bool {
        CCE_SYSTEMS.contains(&self.system.as_str())
    }
}

/// A reference to a control catalogue: SSG puts CIS sections, STIG ids, NIST controls and
/// more here, told apart by `href`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub href: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The checking language, e.g. [`OVAL_SYSTEM`] or OCIL.
    pub system: String,
    pub content_refs: Vec<CheckContentRef>,
    pub exports: Vec<CheckExport>,
}

/// Where the check lives: `href` names a file (or data stream catalog entry), `name` the
/// definition inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckContentRef {
    pub href: String,
    pub name: Option<String>,
}

/// A Value handed to the check under the check's own variable name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckExport {
    pub value_id: String,
    pub export_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value {
    pub id: String,
    pub title: String,
    pub description: RichText,
    /// `string`, `number` or `boolean`.
    pub value_type: String,
    pub operator: Option<String>,
    /// The `<value>` without a selector.
    pub default: Option<String>,
    /// The `<value selector=..>` options, in document order.
    pub options: Vec<ValueOption>,
    pub group: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueOption {
    pub selector: String,
    pub value: String,
}

impl Value {
    /// The value a selector picks. XCCDF falls back to the default for an unknown or absent
    /// selector; a Value with no unselected `<value>` falls back to its first option.
    pub fn value_for(&self, selector: Option<&str>) -> Option<&str> {
        selector
            .and_then(|s| self.options.iter().find(|o| o.selector == s))
            .map(|o| o.value.as_str())
            .or(self.default.as_deref())
            .or_else(|| self.options.first().map(|o| o.value.as_str()))
    }
}
