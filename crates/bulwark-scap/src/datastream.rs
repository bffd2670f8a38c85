//! Reading an SCAP 1.2/1.3 source data stream (`ds:data-stream-collection`) in one streaming
//! pass: the data streams' component references (what `oscap --datastream-id/--xccdf-id`
//! need), the CPE dictionary, and every XCCDF 1.2 benchmark with its profiles, groups, rules
//! and values. OVAL and OCIL components are passed over (but still checked for entities).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ScapError;
use crate::benchmark::{
    Benchmark, Check, CheckContentRef, CheckExport, CpePlatform, Fix, Group, Ident, PlainText,
    Profile, Reference, Rule, RuleRefinement, Selection, Severity, Value, ValueOption,
    ValueSetting,
};
use crate::text::{RichText, read_prose, read_verbatim};
use crate::xml::{Element, Ns, XmlReader};

/// A source data stream collection as read: content-addressed by the SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataStream {
    digest: String,
    collection_id: String,
    streams: Vec<Stream>,
    benchmarks: Vec<Benchmark>,
    cpe_dictionary: Vec<CpeItem>,
}

impl DataStream {
    /// SHA-256 of the raw bytes, lowercase hex: the name under which the file is kept, so a
    /// scanner can be handed exactly the bytes that were imported.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn collection_id(&self) -> &str {
        &self.collection_id
    }

    /// The `ds:data-stream`s of the collection.
    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    pub fn benchmarks(&self) -> &[Benchmark] {
        &self.benchmarks
    }

    pub fn benchmark(&self, id: &str) -> Option<&Benchmark> {
        self.benchmarks.iter().find(|b| b.id == id)
    }

    /// The CPE names the collection's dictionary defines (OS, architectures, packages).
    pub fn cpe_dictionary(&self) -> &[CpeItem] {
        &self.cpe_dictionary
    }

    /// The ids to hand `oscap xccdf eval --datastream-id .. --xccdf-id ..` so that it evaluates
    /// this benchmark: the data stream whose checklists point at the benchmark's component.
    pub fn eval_target(&self, benchmark_id: &str) -> Option<EvalTarget> {
        let benchmark = self.benchmark(benchmark_id)?;
        let href = format!("#{}", benchmark.component_id);
        self.streams.iter().find_map(|stream| {
            stream
                .checklists
                .iter()
                .find(|r| r.href == href)
                .map(|r| EvalTarget {
                    datastream_id: stream.id.clone(),
                    xccdf_id: r.id.clone(),
                })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalTarget {
    pub datastream_id: String,
    pub xccdf_id: String,
}

/// One `ds:data-stream`: which components it uses for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stream {
    pub id: String,
    pub scap_version: Option<String>,
    pub dictionaries: Vec<ComponentRef>,
    pub checklists: Vec<ComponentRef>,
    pub checks: Vec<ComponentRef>,
}

/// A `ds:component-ref`: its own id, and `xlink:href`, `#component-id` for a component of
/// the collection or a URL for a remote one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentRef {
    pub id: String,
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeItem {
    pub name: String,
    pub title: Option<String>,
}

/// Reads a source data stream. Refuses DTDs, entities other than the predefined ones, and a
/// document whose root is not `ds:data-stream-collection`; errors name the line.
pub fn read_datastream(xml: &[u8]) -> Result<DataStream, ScapError> {
    let digest = hex::encode(Sha256::digest(xml));
    let mut reader = XmlReader::new(xml)?;
    let root = reader.root()?;
    if !root.is(Ns::Ds, "data-stream-collection") {
        return Err(ScapError::NotADataStream {
            root: root.name().to_string(),
        });
    }
    let mut collection = DataStream {
        digest,
        collection_id: reader.required_attr(&root, "id")?,
        streams: Vec::new(),
        benchmarks: Vec::new(),
        cpe_dictionary: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Ds, "data-stream") {
            let stream = read_stream(&mut reader, &child)?;
            collection.streams.push(stream);
        } else if child.is(Ns::Ds, "component") {
            let component_id = reader.required_attr(&child, "id")?;
            read_component(&mut reader, &component_id, &mut collection)?;
        } else {
            reader.skip()?;
        }
    }
    reader.finish()?;
    if collection.benchmarks.is_empty() {
        return Err(ScapError::NoBenchmark);
    }
    Ok(collection)
}

fn read_stream(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<Stream, ScapError> {
    let mut stream = Stream {
        id: reader.required_attr(element, "id")?,
        scap_version: reader.attr(element, "scap-version")?,
        dictionaries: Vec::new(),
        checklists: Vec::new(),
        checks: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        let refs = match child.local_name() {
            "dictionaries" if child.ns == Ns::Ds => &mut stream.dictionaries,
            "checklists" if child.ns == Ns::Ds => &mut stream.checklists,
            "checks" if child.ns == Ns::Ds => &mut stream.checks,
            _ => {
                reader.skip()?;
                continue;
            }
        };
        while let Some(component_ref) = reader.next_child()? {
            if component_ref.is(Ns::Ds, "component-ref") {
                let href = reader.xlink_href(&component_ref)?.ok_or_else(|| {
                    ScapError::MissingAttribute {
                        element: component_ref.name().to_string(),
                        attribute: "xlink:href".to_string(),
                        line: reader.element_line(&component_ref),
                    }
                })?;
                refs.push(ComponentRef {
                    id: reader.required_attr(&component_ref, "id")?,
                    href,
                });
            }
            reader.skip()?;
        }
    }
    Ok(stream)
}

fn read_component(
    reader: &mut XmlReader<'_>,
    component_id: &str,
    collection: &mut DataStream,
) -> Result<(), ScapError> {
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Xccdf, "Benchmark") {
            let benchmark = read_benchmark(reader, &child, component_id)?;
            collection.benchmarks.push(benchmark);
        } else if child.is(Ns::CpeDict, "cpe-list") {
            read_cpe_list(reader, &mut collection.cpe_dictionary)?;
        } else {
            reader.skip()?;
        }
    }
    Ok(())
}

fn read_cpe_list(reader: &mut XmlReader<'_>, items: &mut Vec<CpeItem>) -> Result<(), ScapError> {
    while let Some(item) = reader.next_child()? {
        if !item.is(Ns::CpeDict, "cpe-item") {
            reader.skip()?;
            continue;
        }
        let mut cpe = CpeItem {
            name: reader.required_attr(&item, "name")?,
            title: None,
        };
        while let Some(child) = reader.next_child()? {
            if child.is(Ns::CpeDict, "title") && cpe.title.is_none() {
                cpe.title = Some(reader.text()?);
            } else {
                reader.skip()?;
            }
        }
        items.push(cpe);
    }
    Ok(())
}

fn read_benchmark(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    component_id: &str,
) -> Result<Benchmark, ScapError> {
    let mut benchmark = Benchmark {
        id: reader.required_attr(element, "id")?,
        component_id: component_id.to_string(),
        title: String::new(),
        version: None,
        status: None,
        description: RichText::default(),
        platforms: Vec::new(),
        cpe_platforms: Vec::new(),
        profiles: Vec::new(),
        groups: Vec::new(),
        rules: Vec::new(),
        values: Vec::new(),
        plain_texts: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::CpeLang, "platform-specification") {
            read_platform_specification(reader, &mut benchmark.cpe_platforms)?;
            continue;
        }
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "status" => benchmark.status = Some(reader.text()?),
            "title" if benchmark.title.is_empty() => benchmark.title = reader.text()?,
            "description" if benchmark.description.is_empty() => {
                benchmark.description = read_prose(reader)?;
            }
            "version" => benchmark.version = Some(reader.text()?),
            "platform" => {
                benchmark
                    .platforms
                    .push(reader.required_attr(&child, "idref")?);
                reader.skip()?;
            }
            "plain-text" => {
                let id = reader.required_attr(&child, "id")?;
                let text = reader.text()?;
                benchmark.plain_texts.push(PlainText { id, text });
            }
            "Profile" => {
                if benchmark.profiles.len() == crate::benchmark::MAX_PROFILES {
                    return Err(ScapError::TooManyProfiles {
                        benchmark: benchmark.id.clone(),
                        limit: crate::benchmark::MAX_PROFILES,
                    });
                }
                let profile = read_profile(reader, &child)?;
                benchmark.profiles.push(profile);
            }
            "Group" => read_group(reader, &child, None, &mut benchmark)?,
            "Rule" => {
                let rule = read_rule(reader, &child, None)?;
                benchmark.rules.push(rule);
            }
            "Value" => {
                let value = read_value(reader, &child, None)?;
                benchmark.values.push(value);
            }
            _ => reader.skip()?,
        }
    }
    if benchmark.title.is_empty() {
        benchmark.title = benchmark.id.clone();
    }
    benchmark.platforms = expand_platforms(&benchmark.platforms, &benchmark.cpe_platforms);
    check_extends_chains(&benchmark)?;
    Ok(benchmark)
}

/// Refuses a benchmark whose `extends` chains are longer than Bulwark follows, once, with an
/// index, so that a hostile file costs the reader time in proportion to its size. Unknown
/// parents and cycles are left to profile resolution, which names them.
fn check_extends_chains(benchmark: &Benchmark) -> Result<(), ScapError> {
    use crate::benchmark::MAX_EXTENDS_CHAIN;
    let parents: std::collections::HashMap<&str, Option<&str>> = benchmark
        .profiles
        .iter()
        .map(|p| (p.id.as_str(), p.extends.as_deref()))
        .collect();
    for profile in &benchmark.profiles {
        let mut length = 1;
        let mut current = profile.extends.as_deref();
        while let Some(parent) = current {
            if parent == profile.id {
                break;
            }
            length += 1;
            if length > MAX_EXTENDS_CHAIN {
                return Err(ScapError::ProfileChainTooLong {
                    profile: profile.id.clone(),
                    limit: MAX_EXTENDS_CHAIN,
                });
            }
            current = parents.get(parent).copied().flatten();
        }
    }
    Ok(())
}

/// `#id` names a platform of the benchmark's applicability language: the CPE names it tests.
fn expand_platforms(idrefs: &[String], platforms: &[CpePlatform]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for idref in idrefs {
        let expanded = idref
            .strip_prefix('#')
            .and_then(|id| platforms.iter().find(|p| p.id == id));
        match expanded {
            Some(platform) => names.extend(platform.fact_refs.iter().cloned()),
            None => names.push(idref.clone()),
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    names
}

fn read_platform_specification(
    reader: &mut XmlReader<'_>,
    platforms: &mut Vec<CpePlatform>,
) -> Result<(), ScapError> {
    while let Some(element) = reader.next_child()? {
        if !element.is(Ns::CpeLang, "platform") {
            reader.skip()?;
            continue;
        }
        let mut platform = CpePlatform {
            id: reader.required_attr(&element, "id")?,
            title: None,
            fact_refs: Vec::new(),
        };
        read_logical_tests(reader, &mut platform)?;
        platforms.push(platform);
    }
    Ok(())
}

/// Collects the fact-ref names of nested logical tests: the CPE names a platform mentions.
fn read_logical_tests(
    reader: &mut XmlReader<'_>,
    platform: &mut CpePlatform,
) -> Result<(), ScapError> {
    while let Some(element) = reader.next_child()? {
        match element.local_name() {
            "title" if element.ns == Ns::CpeLang && platform.title.is_none() => {
                platform.title = Some(reader.text()?);
            }
            "logical-test" if element.ns == Ns::CpeLang => read_logical_tests(reader, platform)?,
            "fact-ref" if element.ns == Ns::CpeLang => {
                platform
                    .fact_refs
                    .push(reader.required_attr(&element, "name")?);
                reader.skip()?;
            }
            _ => reader.skip()?,
        }
    }
    Ok(())
}

fn read_profile(reader: &mut XmlReader<'_>, element: &Element<'_>) -> Result<Profile, ScapError> {
    let mut profile = Profile {
        id: reader.required_attr(element, "id")?,
        title: String::new(),
        description: RichText::default(),
        extends: reader.attr(element, "extends")?,
        is_abstract: reader.bool_attr(element, "abstract", false)?,
        selections: Vec::new(),
        value_settings: Vec::new(),
        rule_refinements: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "title" if profile.title.is_empty() => profile.title = reader.text()?,
            "description" if profile.description.is_empty() => {
                profile.description = read_prose(reader)?;
            }
            "select" => {
                profile.selections.push(Selection {
                    idref: reader.required_attr(&child, "idref")?,
                    selected: required_bool(reader, &child, "selected")?,
                });
                reader.skip()?;
            }
            "refine-value" => {
                let idref = reader.required_attr(&child, "idref")?;
                // A refine-value may change only the operator; without a selector it leaves
                // the value alone.
                if let Some(selector) = reader.attr(&child, "selector")? {
                    profile
                        .value_settings
                        .push(ValueSetting::Refine { idref, selector });
                }
                reader.skip()?;
            }
            "set-value" => {
                let idref = reader.required_attr(&child, "idref")?;
                let value = reader.raw_text()?;
                profile
                    .value_settings
                    .push(ValueSetting::Set { idref, value });
            }
            "refine-rule" => {
                profile.rule_refinements.push(RuleRefinement {
                    idref: reader.required_attr(&child, "idref")?,
                    severity: severity_attr(reader, &child)?,
                    selector: reader.attr(&child, "selector")?,
                });
                reader.skip()?;
            }
            _ => reader.skip()?,
        }
    }
    if profile.title.is_empty() {
        profile.title = profile.id.clone();
    }
    Ok(profile)
}

fn required_bool(
    reader: &XmlReader<'_>,
    element: &Element<'_>,
    name: &str,
) -> Result<bool, ScapError> {
    reader.required_attr(element, name)?;
    reader.bool_attr(element, name, false)
}

fn severity_attr(
    reader: &XmlReader<'_>,
    element: &Element<'_>,
) -> Result<Option<Severity>, ScapError> {
    reader
        .attr(element, "severity")?
        .map(|s| {
            s.parse().map_err(|()| ScapError::InvalidValue {
                what: format!("severity of <{}>", element.name()),
                value: s.clone(),
                line: reader.element_line(element),
            })
        })
        .transpose()
}

fn read_group(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    parent: Option<usize>,
    benchmark: &mut Benchmark,
) -> Result<(), ScapError> {
    let index = benchmark.groups.len();
    benchmark.groups.push(Group {
        id: reader.required_attr(element, "id")?,
        title: String::new(),
        description: RichText::default(),
        selected: reader.bool_attr(element, "selected", true)?,
        cluster_id: reader.attr(element, "cluster-id")?,
        parent,
    });
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "title" if benchmark.groups[index].title.is_empty() => {
                benchmark.groups[index].title = reader.text()?;
            }
            "description" if benchmark.groups[index].description.is_empty() => {
                benchmark.groups[index].description = read_prose(reader)?;
            }
            "Group" => read_group(reader, &child, Some(index), benchmark)?,
            "Rule" => {
                let rule = read_rule(reader, &child, Some(index))?;
                benchmark.rules.push(rule);
            }
            "Value" => {
                let value = read_value(reader, &child, Some(index))?;
                benchmark.values.push(value);
            }
            _ => reader.skip()?,
        }
    }
    let group = &mut benchmark.groups[index];
    if group.title.is_empty() {
        group.title = group.id.clone();
    }
    Ok(())
}

fn read_rule(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    group: Option<usize>,
) -> Result<Rule, ScapError> {
    let mut rule = Rule {
        id: reader.required_attr(element, "id")?,
        selected: reader.bool_attr(element, "selected", true)?,
        severity: severity_attr(reader, element)?.unwrap_or(Severity::Unknown),
        cluster_id: reader.attr(element, "cluster-id")?,
        title: String::new(),
        description: RichText::default(),
        rationale: RichText::default(),
        warnings: Vec::new(),
        fixtexts: Vec::new(),
        fixes: Vec::new(),
        idents: Vec::new(),
        references: Vec::new(),
        checks: Vec::new(),
        platforms: Vec::new(),
        group,
    };
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "title" if rule.title.is_empty() => rule.title = reader.text()?,
            "description" if rule.description.is_empty() => {
                rule.description = read_prose(reader)?;
            }
            "rationale" if rule.rationale.is_empty() => rule.rationale = read_prose(reader)?,
            "warning" => rule.warnings.push(read_prose(reader)?),
            "fixtext" => rule.fixtexts.push(read_prose(reader)?),
            "fix" => {
                let system = reader.attr(&child, "system")?;
                let id = reader.attr(&child, "id")?;
                let disruption = reader.attr(&child, "disruption")?;
                let reboot = reader
                    .attr(&child, "reboot")?
                    .is_some_and(|r| r == "true" || r == "1");
                let text = read_verbatim(reader)?;
                rule.fixes.push(Fix {
                    system,
                    id,
                    disruption,
                    reboot,
                    text,
                });
            }
            "ident" => {
                let system = reader.required_attr(&child, "system")?;
                let id = reader.text()?;
                rule.idents.push(Ident { system, id });
            }
            "reference" => {
                let href = reader.attr(&child, "href")?;
                let text = reader.text()?;
                rule.references.push(Reference { href, text });
            }
            "platform" => {
                rule.platforms.push(reader.required_attr(&child, "idref")?);
                reader.skip()?;
            }
            "check" => {
                let check = read_check(reader, &child)?;
                rule.checks.push(check);
            }
            "complex-check" => read_complex_check(reader, &mut rule.checks)?,
            _ => reader.skip()?,
        }
    }
    if rule.title.is_empty() {
        rule.title = rule.id.clone();
    }
    Ok(rule)
}

fn read_complex_check(
    reader: &mut XmlReader<'_>,
    checks: &mut Vec<Check>,
) -> Result<(), ScapError> {
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Xccdf, "check") {
            let check = read_check(reader, &child)?;
            checks.push(check);
        } else if child.is(Ns::Xccdf, "complex-check") {
            read_complex_check(reader, checks)?;
        } else {
            reader.skip()?;
        }
    }
    Ok(())
}

pub(crate) fn read_check(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
) -> Result<Check, ScapError> {
    let mut check = Check {
        system: reader.required_attr(element, "system")?,
        content_refs: Vec::new(),
        exports: Vec::new(),
    };
    while let Some(child) = reader.next_child()? {
        if child.is(Ns::Xccdf, "check-content-ref") {
            check.content_refs.push(CheckContentRef {
                href: reader.required_attr(&child, "href")?,
                name: reader.attr(&child, "name")?,
            });
        } else if child.is(Ns::Xccdf, "check-export") {
            check.exports.push(CheckExport {
                value_id: reader.required_attr(&child, "value-id")?,
                export_name: reader.required_attr(&child, "export-name")?,
            });
        }
        reader.skip()?;
    }
    Ok(check)
}

fn read_value(
    reader: &mut XmlReader<'_>,
    element: &Element<'_>,
    group: Option<usize>,
) -> Result<Value, ScapError> {
    let mut value = Value {
        id: reader.required_attr(element, "id")?,
        title: String::new(),
        description: RichText::default(),
        value_type: reader
            .attr(element, "type")?
            .unwrap_or_else(|| "string".to_string()),
        operator: reader.attr(element, "operator")?,
        default: None,
        options: Vec::new(),
        group,
    };
    while let Some(child) = reader.next_child()? {
        if child.ns != Ns::Xccdf {
            reader.skip()?;
            continue;
        }
        match child.local_name() {
            "title" if value.title.is_empty() => value.title = reader.text()?,
            "description" if value.description.is_empty() => {
                value.description = read_prose(reader)?;
            }
            "value" => {
                let selector = reader.attr(&child, "selector")?;
                let text = reader.raw_text()?;
                match selector {
                    Some(selector) if !selector.is_empty() => value.options.push(ValueOption {
                        selector,
                        value: text,
                    }),
                    _ if value.default.is_none() => value.default = Some(text),
                    _ => {}
                }
            }
            _ => reader.skip()?,
        }
    }
    if value.title.is_empty() {
        value.title = value.id.clone();
    }
    Ok(value)
}
