//! Capabilities and requirements: what a system offers, what an actor type needs, and what one
//! create asks for.
//!
//! A system has a map of **capabilities**: names to JSON-like values ([`Value`]), set when it
//! starts ([`ActorSystemBuilder::capabilities`](crate::ActorSystemBuilder::capabilities)) and
//! changed while it runs ([`ActorSystem::update_capability`](crate::ActorSystem::update_capability),
//! [`Context::update_capability`](crate::Context::update_capability)). An actor type says what it
//! needs of the system that hosts it with `#[actor(require_capability ..)]` entries and an optional
//! `#[actor(capability_check = path)]` function; one create may pass **requirements**
//! ([`ActorOptions::requirements`](crate::ActorOptions::requirements)) for that function to read.
//! Everything the actor type asks must hold (AND) for a system to host it.
//!
//! ```
//! use thespian::prelude::*;
//! use thespian::capabilities::Value;
//!
//! /// Runs only where the system has a GPU with enough memory for the job it is created for.
//! fn enough_memory(capabilities: &Capabilities, requirements: &Requirements) -> bool {
//!     let have = capabilities.get("GPU memory").and_then(Value::as_u64).unwrap_or(0);
//!     let need = requirements.get("memory").and_then(Value::as_u64).unwrap_or(0);
//!     have >= need
//! }
//!
//! #[derive(Default)]
//! struct Trainer;
//!
//! #[actor(require_capability = "GPU", capability_check = enough_memory)]
//! impl Trainer {
//!     #[handler]
//!     fn train(&mut self, epochs: u32) -> u32 { epochs }
//! }
//!
//! let system = ActorSystem::builder().capability("GPU", true).capability("GPU memory", 80).build()?;
//! let small = ActorOptions::new().requirement("memory", 40);
//! let trainer = system.create_actor_with::<Trainer>(small)?;
//! assert_eq!(system.ask::<u32, _, _>(&trainer, 3u32, Duration::from_secs(1))?, 3);
//!
//! let huge = ActorOptions::new().requirement("memory", 400);
//! let refused = system.create_actor_with::<Trainer>(huge);
//! assert!(matches!(refused, Err(Error::NoCompatibleSystem { .. })));
//! # Ok::<(), thespian::Error>(())
//! ```
//!
//! Truthiness follows Python's, as in the original: `null`, `false`, `0`, `0.0`, `""`, `[]` and `{}`
//! are false, and so is a capability that is not set; everything else is true.

use std::collections::BTreeMap;
use std::collections::btree_map;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::{Deserialize, Serialize};

/// A capability's value: any JSON-like data (`serde_json`'s value type).
///
/// An alias rather than a re-export, so that the compiler's messages about other types named like
/// its variants (`String`, say) keep their short names in programs that use this crate.
pub type Value = serde_json::Value;
/// Builds a [`Value`] from JSON-like syntax: `json!({"cores": 8, "tags": ["gpu"]})`.
pub use serde_json::json;

/// A map of capability names to values: what a system offers.
///
/// ```
/// use thespian::Capabilities;
///
/// let mut caps: Capabilities = [("Colour", "red")].into_iter().collect();
/// caps.insert("Cores", 8);
/// caps.insert("Busy", false);
/// assert!(caps.is_truthy("Colour"));
/// assert!(caps.is_truthy("Cores"));
/// assert!(!caps.is_truthy("Busy"));
/// assert!(!caps.is_truthy("Missing"));
/// assert_eq!(caps.get("Colour").and_then(|v| v.as_str()), Some("red"));
/// assert_eq!(caps.remove("Busy"), Some(false.into()));
/// assert_eq!(caps.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(), ["Colour", "Cores"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Capabilities(BTreeMap<String, Value>);

/// What one create asks of the system that hosts the new actor, read by the actor type's
/// `capability_check` function. The same map type as [`Capabilities`]: names to values.
///
/// ```
/// use thespian::{ActorOptions, Requirements};
///
/// let requirements: Requirements = [("WantsToSee", "Trees")].into_iter().collect();
/// let options = ActorOptions::new().requirements(requirements);
/// assert_eq!(options.requirements.get("WantsToSee").and_then(|v| v.as_str()), Some("Trees"));
/// ```
pub type Requirements = Capabilities;

impl Capabilities {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of capability `name`, if it is set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// Sets capability `name`; returns the value it had.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(name.into(), value.into())
    }

    /// Removes capability `name`; returns the value it had.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.remove(name)
    }

    /// Whether capability `name` is set (to any value, even a false one).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Whether capability `name` is set to a true value, as Python's truthiness has it: not
    /// `null`, `false`, `0`, `0.0`, `""`, `[]` or `{}`. A capability that is not set is false.
    pub fn is_truthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(is_truthy)
    }

    /// The capabilities in name order.
    pub fn iter(&self) -> btree_map::Iter<'_, String, Value> {
        self.0.iter()
    }

    /// How many capabilities are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no capability is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets `name` to `value`, or removes it for `None`; whether anything changed.
    pub(crate) fn update(&mut self, name: String, value: Option<Value>) -> bool {
        match value {
            Some(value) => self.0.insert(name, value.clone()).as_ref() != Some(&value),
            None => self.0.remove(&name).is_some(),
        }
    }
}

/// Python's truthiness of a value: `null`, `false`, `0`, `0.0`, `""`, `[]` and `{}` are false.
///
/// ```
/// use thespian::capabilities::{is_truthy, json};
///
/// for falsy in [json!(null), json!(false), json!(0), json!(0.0), json!(""), json!([]), json!({})] {
///     assert!(!is_truthy(&falsy), "{falsy}");
/// }
/// for truthy in [json!(true), json!(-1), json!(0.5), json!("no"), json!([0]), json!({"a": null})] {
///     assert!(is_truthy(&truthy), "{truthy}");
/// }
/// ```
pub fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl From<BTreeMap<String, Value>> for Capabilities {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Capabilities(map)
    }
}

impl From<Capabilities> for BTreeMap<String, Value> {
    fn from(caps: Capabilities) -> Self {
        caps.0
    }
}

impl<K: Into<String>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Capabilities {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Capabilities {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Capabilities(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl<K: Into<String>, V: Into<Value>> Extend<(K, V)> for Capabilities {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for Capabilities {
    type Item = (String, Value);
    type IntoIter = btree_map::IntoIter<String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Capabilities {
    type Item = (&'a String, &'a Value);
    type IntoIter = btree_map::Iter<'a, String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// An actor type's own check, `#[actor(capability_check = path)]`: whether a system with these
/// capabilities can host the actor created with these requirements.
///
/// It must not panic; if it does, the answer is "no" (the panic is caught and logged).
pub type CheckFn = fn(&Capabilities, &Requirements) -> bool;

/// The value a capability must equal: `#[actor(require_capability(name = "..", value = ..))]`.
///
/// Numbers compare by value (`1` equals `1.0`, as in Python); a string, a number and a bool never
/// equal one another (unlike Python, where `True == 1`).
///
/// ```
/// use thespian::capabilities::{RequiredValue, json};
///
/// assert!(RequiredValue::Int(1).matches(&json!(1.0)));
/// assert!(RequiredValue::Str("red").matches(&json!("red")));
/// assert!(!RequiredValue::Bool(true).matches(&json!(1)));
/// assert_eq!(RequiredValue::Str("red").to_string(), "\"red\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RequiredValue {
    /// A string.
    Str(&'static str),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A bool.
    Bool(bool),
}

/// How a capability's value compares with a required one.
enum Comparison {
    Equal,
    Different,
    /// Another type altogether (a number where a string is required, say).
    OtherType,
}

impl RequiredValue {
    /// Whether `value` equals this one.
    pub fn matches(&self, value: &Value) -> bool {
        matches!(self.compare(value), Comparison::Equal)
    }

    fn compare(&self, value: &Value) -> Comparison {
        let equal = match (self, value) {
            (_, Value::Null) => return Comparison::Different,
            (RequiredValue::Str(want), Value::String(have)) => want == have,
            (RequiredValue::Bool(want), Value::Bool(have)) => want == have,
            (RequiredValue::Int(want), Value::Number(have)) => match (have.as_i64(), have.as_u64(), have.as_f64()) {
                (Some(have), _, _) => have == *want,
                (None, Some(_), _) => false,
                (None, None, have) => have == Some(*want as f64),
            },
            (RequiredValue::Float(want), Value::Number(have)) => have.as_f64() == Some(*want),
            _ => return Comparison::OtherType,
        };
        if equal { Comparison::Equal } else { Comparison::Different }
    }

    fn kind(&self) -> &'static str {
        match self {
            RequiredValue::Str(_) => "a string",
            RequiredValue::Int(_) | RequiredValue::Float(_) => "a number",
            RequiredValue::Bool(_) => "a bool",
        }
    }
}

impl fmt::Display for RequiredValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequiredValue::Str(s) => write!(f, "{}", Value::from(*s)),
            RequiredValue::Int(n) => write!(f, "{n}"),
            RequiredValue::Float(x) => write!(f, "{}", Value::from(*x)),
            RequiredValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// One `#[actor(require_capability ..)]` entry: the capability must be true (no value), or equal
/// the value.
///
/// ```
/// use thespian::Capabilities;
/// use thespian::capabilities::{RequiredCapability, RequiredValue};
///
/// let caps: Capabilities = [("Server", true)].into_iter().collect();
/// assert!(RequiredCapability::truthy("Server").check(&caps).is_ok());
/// let red = RequiredCapability::equal("Colour", RequiredValue::Str("red"));
/// assert_eq!(red.check(&caps).unwrap_err(), "capability `Colour` is not set (it must be \"red\")");
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequiredCapability {
    /// The capability's name.
    pub name: &'static str,
    /// The value it must equal; `None`: it must be true.
    pub value: Option<RequiredValue>,
}

impl RequiredCapability {
    /// Capability `name` must be set to a true value.
    pub const fn truthy(name: &'static str) -> Self {
        RequiredCapability { name, value: None }
    }

    /// Capability `name` must equal `value`.
    pub const fn equal(name: &'static str, value: RequiredValue) -> Self {
        RequiredCapability { name, value: Some(value) }
    }

    /// `Ok` if `capabilities` meet this requirement; otherwise what is wrong. A value of another
    /// type than the required one fails, with a warning in the log.
    pub fn check(&self, capabilities: &Capabilities) -> Result<(), String> {
        let name = self.name;
        match (self.value, capabilities.get(name)) {
            (None, None) => Err(format!("capability `{name}` is not set (it must be set to a true value)")),
            (None, Some(have)) if is_truthy(have) => Ok(()),
            (None, Some(have)) => Err(format!("capability `{name}` is {have}, not a true value")),
            (Some(want), None) => Err(format!("capability `{name}` is not set (it must be {want})")),
            (Some(want), Some(have)) => match want.compare(have) {
                Comparison::Equal => Ok(()),
                Comparison::Different => Err(format!("capability `{name}` is {have}, not {want}")),
                Comparison::OtherType => {
                    let why = format!("capability `{name}` is {have}, where {} ({want}) is required", want.kind());
                    tracing::warn!(capability = name, "{why}");
                    Err(why)
                }
            },
        }
    }
}

/// Everything an actor type asks of the system that hosts it: its `require_capability` entries
/// and its `capability_check` function, all of which must hold. `#[actor]` builds it; it is
/// recorded in the type's [`ActorRegistration`](crate::actor::ActorRegistration), so a system can
/// evaluate it for a type it knows only by name.
///
/// ```
/// use thespian::{Capabilities, Requirements};
/// use thespian::capabilities::{CapabilityCheck, RequiredCapability};
///
/// fn invited(caps: &Capabilities, reqs: &Requirements) -> bool {
///     let place = reqs.get("Invited to").and_then(|v| v.as_str()).expect("a guest is invited somewhere");
///     caps.is_truthy(place)
/// }
///
/// const GUEST: CapabilityCheck =
///     CapabilityCheck::new(&[RequiredCapability::truthy("Open")]).with_function(invited, "invited");
///
/// let caps: Capabilities = [("Open", true), ("Ocean", true)].into_iter().collect();
/// assert!(GUEST.accepts(&caps, &[("Invited to", "Ocean")].into()));
/// assert!(!GUEST.accepts(&caps, &[("Invited to", "Trees")].into()));
/// // The function panics without the requirement: the check fails closed.
/// assert!(GUEST.evaluate(&caps, &Requirements::new()).unwrap_err().contains("panicked"));
/// assert!(CapabilityCheck::NONE.accepts(&Capabilities::new(), &Requirements::new()));
/// ```
#[derive(Clone, Copy)]
pub struct CapabilityCheck {
    required: &'static [RequiredCapability],
    function: Option<CheckFn>,
    function_name: &'static str,
}

impl fmt::Debug for CapabilityCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CapabilityCheck")
            .field("required", &self.required)
            .field("function", &self.function.map(|_| self.function_name))
            .finish()
    }
}

impl Default for CapabilityCheck {
    fn default() -> Self {
        Self::NONE
    }
}

impl CapabilityCheck {
    /// No requirement: any system hosts the actor (the default).
    pub const NONE: CapabilityCheck = CapabilityCheck { required: &[], function: None, function_name: "" };

    /// The capabilities listed must all hold.
    pub const fn new(required: &'static [RequiredCapability]) -> Self {
        CapabilityCheck { required, function: None, function_name: "" }
    }

    /// Adds a function that must also hold; `name` names it in messages.
    pub const fn with_function(mut self, function: CheckFn, name: &'static str) -> Self {
        self.function = Some(function);
        self.function_name = name;
        self
    }

    /// Whether there is nothing to check.
    pub const fn is_none(&self) -> bool {
        self.required.is_empty() && self.function.is_none()
    }

    /// The `require_capability` entries.
    pub fn required(&self) -> &'static [RequiredCapability] {
        self.required
    }

    /// The `capability_check` function.
    pub fn function(&self) -> Option<CheckFn> {
        self.function
    }

    /// `Ok` if a system with `capabilities` can host the actor created with `requirements`;
    /// otherwise why not. Fails closed: a function that panics, or a capability of an unexpected
    /// type, is a "no" (logged as a warning), never a panic.
    pub fn evaluate(&self, capabilities: &Capabilities, requirements: &Requirements) -> Result<(), String> {
        for required in self.required {
            required.check(capabilities)?;
        }
        let Some(function) = self.function else { return Ok(()) };
        let name = self.function_name;
        match catch_unwind(AssertUnwindSafe(|| function(capabilities, requirements))) {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!(
                "its capability check `{name}` refused the system's capabilities {}",
                self.shown(capabilities, requirements)
            )),
            Err(panic) => {
                let why =
                    format!("its capability check `{name}` panicked: {}", crate::actor::panic_error(panic).text());
                tracing::warn!(check = name, "{why}; the check fails");
                Err(why)
            }
        }
    }

    /// Whether a system with `capabilities` can host the actor created with `requirements`.
    pub fn accepts(&self, capabilities: &Capabilities, requirements: &Requirements) -> bool {
        self.evaluate(capabilities, requirements).is_ok()
    }

    fn shown(&self, capabilities: &Capabilities, requirements: &Requirements) -> String {
        let text = |map: &Capabilities| serde_json::to_string(&map.0).unwrap_or_else(|_| "?".to_owned());
        format!("{} with requirements {}", text(capabilities), text(requirements))
    }
}

#[cfg(test)]
mod tests;
