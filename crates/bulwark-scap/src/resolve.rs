//! What a profile makes of a benchmark, following XCCDF 1.2: the chain of `extends` applied
//! from the base down, selections over the group tree (a rule counts only when every group
//! around it is selected too), values picked by selector or set, texts rendered with them.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::ScapError;
use crate::benchmark::{
    Benchmark, Check, Ident, Profile, Reference, Rule, Severity, Value, ValueSetting,
};

/// A profile ready to become a template: its selected rules in document order, their texts
/// rendered with the profile's values, and those values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedProfile {
    pub benchmark_id: String,
    pub profile_id: String,
    pub title: String,
    pub description: String,
    pub rules: Vec<ResolvedRule>,
    /// The Values the selected rules use (in their checks or texts) and those the profile
    /// sets, in document order.
    pub values: Vec<ResolvedValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRule {
    pub id: String,
    pub title: String,
    /// The rule's severity, or the profile's `refine-rule` severity.
    pub severity: Severity,
    pub description: String,
    pub rationale: String,
    pub warnings: Vec<String>,
    pub fixtext: Option<String>,
    pub fixes: Vec<ResolvedFix>,
    pub idents: Vec<Ident>,
    pub references: Vec<Reference>,
    pub checks: Vec<Check>,
    pub platforms: Vec<String>,
    /// The enclosing groups, outermost first.
    pub groups: Vec<GroupRef>,
}

impl ResolvedRule {
    /// The outermost group's title, which names the area the rule belongs to.
    pub fn category(&self) -> Option<&str> {
        self.groups.first().map(|g| g.title.as_str())
    }

    pub fn cces(&self) -> impl Iterator<Item = &str> {
        self.idents
            .iter()
            .filter(|i| i.is_cce())
            .map(|i| i.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRef {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedFix {
    pub system: Option<String>,
    pub disruption: Option<String>,
    pub reboot: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedValue {
    pub id: String,
    pub title: String,
    pub value_type: String,
    pub value: String,
    pub origin: ValueOrigin,
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ValueOrigin {
    Default,
    /// A `refine-value` selector; `matched` is false when the Value has no such option and the
    /// default was used, as XCCDF says.
    Selector {
        selector: String,
        matched: bool,
    },
    Set,
}

/// A profile's settings after its `extends` chain: later (more derived) settings win.
#[derive(Default)]
struct Effective<'b> {
    selections: HashMap<&'b str, bool>,
    values: HashMap<&'b str, &'b ValueSetting>,
    severities: HashMap<&'b str, Severity>,
}

impl Benchmark {
    /// Resolves a profile: the rules it selects, in document order, and its values.
    pub fn resolve_profile(&self, profile_id: &str) -> Result<ResolvedProfile, ScapError> {
        let profile = self
            .profile(profile_id)
            .ok_or_else(|| ScapError::UnknownProfile {
                id: profile_id.to_string(),
                available: self.profiles.iter().map(|p| p.id.clone()).collect(),
            })?;
        let effective = self.effective(profile)?;

        let groups_selected = self.groups_selected(&effective);
        let selected: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| {
                rule.group.is_none_or(|g| groups_selected[g])
                    && is_selected(
                        &effective,
                        &rule.id,
                        rule.cluster_id.as_deref(),
                        rule.selected,
                    )
            })
            .collect();

        let values = self.resolved_values(&effective, &selected);
        let by_id: HashMap<&str, &ResolvedValue> =
            values.iter().map(|v| (v.id.as_str(), v)).collect();
        let render = |text: &crate::RichText| {
            text.render(|id| {
                by_id
                    .get(id)
                    .map(|v| v.value.clone())
                    .or_else(|| {
                        self.value(id)
                            .and_then(|v| v.value_for(None))
                            .map(str::to_string)
                    })
                    .or_else(|| self.plain_text(id).map(str::to_string))
            })
        };

        let rules = selected
            .iter()
            .map(|rule| ResolvedRule {
                id: rule.id.clone(),
                title: rule.title.clone(),
                severity: effective
                    .severities
                    .get(rule.id.as_str())
                    .copied()
                    .unwrap_or(rule.severity),
                description: render(&rule.description),
                rationale: render(&rule.rationale),
                warnings: rule.warnings.iter().map(render).collect(),
                fixtext: (!rule.fixtexts.is_empty()).then(|| {
                    rule.fixtexts
                        .iter()
                        .map(render)
                        .collect::<Vec<_>>()
                        .join("\n\n")
                }),
                fixes: rule
                    .fixes
                    .iter()
                    .map(|fix| ResolvedFix {
                        system: fix.system.clone(),
                        disruption: fix.disruption.clone(),
                        reboot: fix.reboot,
                        text: render(&fix.text),
                    })
                    .collect(),
                idents: rule.idents.clone(),
                references: rule.references.clone(),
                checks: rule.checks.clone(),
                platforms: rule.platforms.clone(),
                groups: self
                    .group_path(rule.group)
                    .into_iter()
                    .map(|g| GroupRef {
                        id: g.id.clone(),
                        title: g.title.clone(),
                    })
                    .collect(),
            })
            .collect();

        Ok(ResolvedProfile {
            benchmark_id: self.id.clone(),
            profile_id: profile.id.clone(),
            title: profile.title.clone(),
            description: render(&profile.description),
            rules,
            values,
        })
    }

    fn effective<'b>(&'b self, profile: &'b Profile) -> Result<Effective<'b>, ScapError> {
        let mut chain = vec![profile];
        let mut seen: HashSet<&str> = HashSet::from([profile.id.as_str()]);
        let mut current = profile;
        while let Some(parent_id) = &current.extends {
            let parent =
                self.profile(parent_id)
                    .ok_or_else(|| ScapError::UnknownParentProfile {
                        profile: current.id.clone(),
                        parent: parent_id.clone(),
                    })?;
            if !seen.insert(parent.id.as_str()) {
                let mut names: Vec<String> = chain.iter().map(|p| p.id.clone()).collect();
                names.push(parent.id.clone());
                return Err(ScapError::ProfileCycle {
                    profile: profile.id.clone(),
                    chain: names,
                });
            }
            chain.push(parent);
            if chain.len() > crate::benchmark::MAX_EXTENDS_CHAIN {
                return Err(ScapError::ProfileChainTooLong {
                    profile: profile.id.clone(),
                    limit: crate::benchmark::MAX_EXTENDS_CHAIN,
                });
            }
            current = parent;
        }

        let mut effective = Effective::default();
        for profile in chain.iter().rev() {
            for selection in &profile.selections {
                effective
                    .selections
                    .insert(selection.idref.as_str(), selection.selected);
            }
            for setting in &profile.value_settings {
                effective.values.insert(setting.idref(), setting);
            }
            for refinement in &profile.rule_refinements {
                if let Some(severity) = refinement.severity {
                    effective
                        .severities
                        .insert(refinement.idref.as_str(), severity);
                }
            }
        }
        Ok(effective)
    }

    /// Whether each group is selected, its ancestors included: groups come before the groups
    /// inside them, so one pass in document order sees every parent first.
    fn groups_selected(&self, effective: &Effective<'_>) -> Vec<bool> {
        let mut selected: Vec<bool> = Vec::with_capacity(self.groups.len());
        for group in &self.groups {
            let parent_selected = group.parent.is_none_or(|p| selected[p]);
            selected.push(
                parent_selected
                    && is_selected(
                        effective,
                        &group.id,
                        group.cluster_id.as_deref(),
                        group.selected,
                    ),
            );
        }
        selected
    }

    fn resolved_values(&self, effective: &Effective<'_>, rules: &[&Rule]) -> Vec<ResolvedValue> {
        let mut used: HashSet<&str> = effective.values.keys().copied().collect();
        for rule in rules {
            for check in &rule.checks {
                used.extend(check.exports.iter().map(|e| e.value_id.as_str()));
            }
            let texts = [&rule.description, &rule.rationale]
                .into_iter()
                .chain(&rule.warnings)
                .chain(&rule.fixtexts)
                .chain(rule.fixes.iter().map(|f| &f.text));
            for text in texts {
                used.extend(text.substitutions());
            }
        }
        self.values
            .iter()
            .filter(|v| used.contains(v.id.as_str()))
            .map(|value| resolve_value(value, effective.values.get(value.id.as_str()).copied()))
            .collect()
    }
}

fn resolve_value(value: &Value, setting: Option<&ValueSetting>) -> ResolvedValue {
    let (resolved, origin) = match setting {
        Some(ValueSetting::Set { value: literal, .. }) => (literal.clone(), ValueOrigin::Set),
        Some(ValueSetting::Refine { selector, .. }) => {
            let matched = value.options.iter().any(|o| &o.selector == selector);
            (
                value
                    .value_for(Some(selector))
                    .unwrap_or_default()
                    .to_string(),
                ValueOrigin::Selector {
                    selector: selector.clone(),
                    matched,
                },
            )
        }
        None => (
            value.value_for(None).unwrap_or_default().to_string(),
            ValueOrigin::Default,
        ),
    };
    ResolvedValue {
        id: value.id.clone(),
        title: value.title.clone(),
        value_type: value.value_type.clone(),
        value: resolved,
        origin,
    }
}

/// A `select` may name the item or its cluster; without one the item's own default holds.
fn is_selected(effective: &Effective<'_>, id: &str, cluster: Option<&str>, default: bool) -> bool {
    effective
        .selections
        .get(id)
        .or_else(|| cluster.and_then(|c| effective.selections.get(c)))
        .copied()
        .unwrap_or(default)
}
