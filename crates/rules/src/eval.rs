//! The event abstraction and the compiled form conditions are evaluated in.
//!
//! An event answers one question, the value of a field given its pre-resolved [`Key`]; the
//! engine never parses a field name while evaluating. Falco's rule for missing fields holds
//! throughout: a test of a field the event lacks is false, whatever the operator (so `not`
//! of it is true), and only `exists` asks whether it is there.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use base64::Engine as _;
use globset::GlobMatcher;
use memchr::memmem::Finder;
use regex::Regex;

use crate::ast::Transformer;
use crate::hash::StrSet;

/// A field as the engine asks for it: the Falco name events carry it under (`proc.aname[2]`,
/// `evt.arg.flags`) and a dense id, the same for every occurrence of that name in a
/// [`crate::Ruleset`] (an event source that stores fields in an array can index by it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub(crate) id: u32,
    pub(crate) name: Box<str>,
}

impl Key {
    /// The field's full name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its id in the ruleset, below [`crate::Ruleset::keys`]'s length.
    pub fn id(&self) -> usize {
        self.id as usize
    }
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    /// Text.
    Str(Cow<'a, str>),
    /// An integer.
    Num(i64),
    /// A boolean.
    Bool(bool),
}

/// Something rules are evaluated against.
pub trait Event {
    /// The value of a field, `None` when the event does not carry it.
    fn get(&self, key: &Key) -> Option<Val<'_>>;
}

/// The flat JSON object `haechi agent --events` writes: Falco field names to values.
impl Event for serde_json::Map<String, serde_json::Value> {
    fn get(&self, key: &Key) -> Option<Val<'_>> {
        json_val(self.get(key.name())?)
    }
}

/// A JSON value as a field value; `null`, arrays and objects are missing.
pub fn json_val(v: &serde_json::Value) -> Option<Val<'_>> {
    match v {
        serde_json::Value::String(s) => Some(Val::Str(Cow::Borrowed(s))),
        serde_json::Value::Bool(b) => Some(Val::Bool(*b)),
        serde_json::Value::Number(n) => Some(Val::Num(
            n.as_i64()
                .or_else(|| n.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
                .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
        )),
        _ => None,
    }
}

/// Formats a number without allocating.
struct NumText {
    buf: [u8; 20],
    start: usize,
}

impl NumText {
    fn new(n: i64) -> NumText {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut m = n.unsigned_abs();
        loop {
            i -= 1;
            buf[i] = b'0' + (m % 10) as u8;
            m /= 10;
            if m == 0 {
                break;
            }
        }
        if n < 0 {
            i -= 1;
            buf[i] = b'-';
        }
        NumText { buf, start: i }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("")
    }
}

/// Runs `f` on the text of a value.
fn with_text<R>(v: &Val<'_>, f: impl FnOnce(&str) -> R) -> R {
    match v {
        Val::Str(s) => f(s),
        Val::Num(n) => f(NumText::new(*n).as_str()),
        Val::Bool(b) => f(if *b { "true" } else { "false" }),
    }
}

fn as_num(v: &Val<'_>) -> Option<i64> {
    match v {
        Val::Num(n) => Some(*n),
        Val::Str(s) => parse_num(s),
        Val::Bool(b) => Some(i64::from(*b)),
    }
}

fn as_bool(v: &Val<'_>) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(*b),
        Val::Str(s) => parse_bool(s),
        Val::Num(n) => Some(*n != 0),
    }
}

fn as_ip(v: &Val<'_>) -> Option<IpAddr> {
    match v {
        Val::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// A decimal or `0x` hexadecimal integer.
pub(crate) fn parse_num(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok();
    }
    s.parse().ok()
}

pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// An IP network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    /// `10.0.0.0/8`, or a bare address as a host network.
    pub fn parse(s: &str) -> Option<Net> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Net { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Path prefixes for `pmatch`: a path matches when one of them is the path or a directory above it.
#[derive(Debug, Clone)]
pub(crate) struct Prefixes {
    set: StrSet,
    root: bool,
    /// Which lengths below 64 prefixes have (bit n for length n): only parts of a path with
    /// such a length, or longer than 63 and up to the longest prefix, are looked up.
    lengths: u64,
    longest: usize,
}

impl Prefixes {
    pub fn new<'a>(items: impl IntoIterator<Item = &'a str>) -> Prefixes {
        let mut set = StrSet::default();
        let mut root = false;
        for item in items {
            let trimmed = item.trim_end_matches('/');
            if trimmed.is_empty() && item.starts_with('/') {
                root = true;
            } else if !trimmed.is_empty() {
                set.insert(Box::from(trimmed));
            }
        }
        let lengths = set
            .iter()
            .filter(|p| p.len() < 64)
            .fold(0, |bits, p| bits | 1 << p.len());
        let longest = set.iter().map(|p| p.len()).max().unwrap_or(0);
        Prefixes {
            set,
            root,
            lengths,
            longest,
        }
    }

    /// The prefixes; `None` when `/` is one of them (every absolute path matches).
    pub fn items(&self) -> Option<impl Iterator<Item = &str>> {
        (!self.root).then(|| self.set.iter().map(|s| &**s))
    }

    fn matches(&self, path: &str) -> bool {
        if self.root && path.starts_with('/') {
            return true;
        }
        let path = path.trim_end_matches('/');
        let fits = |len: usize| match len {
            0..64 => self.lengths >> len & 1 == 1,
            _ => len <= self.longest,
        };
        if fits(path.len()) && self.set.contains(path) {
            return true;
        }
        memchr::memchr_iter(b'/', path.as_bytes())
            .take_while(|&i| i <= self.longest)
            .filter(|&i| fits(i))
            .any(|i| self.set.contains(&path[..i]))
    }
}

/// Ordering comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ord4 {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Ord4 {
    fn holds(self, o: std::cmp::Ordering) -> bool {
        use std::cmp::Ordering::*;
        match self {
            Ord4::Lt => o == Less,
            Ord4::Le => o != Greater,
            Ord4::Gt => o == Greater,
            Ord4::Ge => o != Less,
        }
    }
}

/// How a field's value is obtained.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// Read under its name.
    Key(Key),
    /// Read under its name, else computed.
    Derived(Key, Derived),
    /// Every ancestor's value, nearest first, until one is missing.
    Ancestors(Box<[Key]>),
}

#[derive(Debug, Clone)]
pub(crate) enum Derived {
    Const(&'static str),
    Alias(Key),
    Either(Key, Key),
    /// (client, server, evt.type): the server end for accept/listen/bind.
    Local(Key, Key, Key),
    Remote(Key, Key, Key),
    /// (evt.type, evt.rawres).
    FdNum(Key, Key),
    FdType(Key),
    SockFamily(Key),
    Failed(Key),
}

fn server_side<E: Event + ?Sized>(ev: &E, evt_type: &Key) -> bool {
    matches!(ev.get(evt_type), Some(Val::Str(t)) if matches!(&*t, "accept" | "accept4" | "listen" | "bind"))
}

/// System calls whose return value is a new descriptor.
fn creates_fd(t: &str) -> bool {
    matches!(
        t,
        "open"
            | "openat"
            | "openat2"
            | "creat"
            | "open_by_handle_at"
            | "socket"
            | "accept"
            | "accept4"
            | "memfd_create"
            | "dup"
            | "dup2"
            | "dup3"
            | "eventfd"
            | "eventfd2"
            | "signalfd"
            | "signalfd4"
            | "timerfd_create"
            | "inotify_init"
            | "inotify_init1"
            | "epoll_create"
            | "epoll_create1"
            | "userfaultfd"
            | "pidfd_open"
            | "bpf"
    )
}

impl Access {
    /// Calls `f` on each value until it returns `true`; returns whether any value was present and
    /// whether `f` accepted one.
    pub fn any<'e, E: Event + ?Sized>(
        &self,
        ev: &'e E,
        mut f: impl FnMut(Val<'e>) -> bool,
    ) -> (bool, bool) {
        match self {
            Access::Key(k) => match ev.get(k) {
                Some(v) => (true, f(v)),
                None => (false, false),
            },
            Access::Ancestors(keys) => {
                let mut present = false;
                for k in keys.iter() {
                    let Some(v) = ev.get(k) else { break };
                    present = true;
                    if f(v) {
                        return (true, true);
                    }
                }
                (present, false)
            }
            Access::Derived(k, how) => {
                if let Some(v) = ev.get(k) {
                    return (true, f(v));
                }
                let one = |v: Option<Val<'e>>, f: &mut dyn FnMut(Val<'e>) -> bool| match v {
                    Some(v) => (true, f(v)),
                    None => (false, false),
                };
                match how {
                    Derived::Const(c) => (true, f(Val::Str(Cow::Borrowed(c)))),
                    Derived::Alias(a) => one(ev.get(a), &mut f),
                    Derived::Either(a, b) => {
                        let (pa, ha) = one(ev.get(a), &mut f);
                        if ha {
                            return (true, true);
                        }
                        let (pb, hb) = one(ev.get(b), &mut f);
                        (pa || pb, hb)
                    }
                    Derived::Local(c, s, t) => {
                        one(ev.get(if server_side(ev, t) { s } else { c }), &mut f)
                    }
                    Derived::Remote(c, s, t) => {
                        one(ev.get(if server_side(ev, t) { c } else { s }), &mut f)
                    }
                    Derived::FdNum(t, res) => {
                        let fd = match ev.get(t) {
                            Some(Val::Str(t)) if creates_fd(&t) => {
                                ev.get(res).and_then(|r| as_num(&r))
                            }
                            _ => None,
                        };
                        one(fd.map(|n| Val::Num(n.max(-1))), &mut f)
                    }
                    Derived::FdType(tc) => {
                        let t = ev.get(tc).and_then(|v| match v {
                            Val::Str(c) => Some(match &*c {
                                "f" => "file",
                                "d" => "directory",
                                "4" => "ipv4",
                                "6" => "ipv6",
                                "u" => "unix",
                                "p" => "pipe",
                                "e" => "event",
                                "s" => "signalfd",
                                "l" => "eventpoll",
                                "i" => "inotify",
                                "t" => "timerfd",
                                "n" => "netlink",
                                "m" => "memfd",
                                _ => return None,
                            }),
                            _ => None,
                        });
                        one(t.map(|t| Val::Str(Cow::Borrowed(t))), &mut f)
                    }
                    Derived::SockFamily(tc) => {
                        let fam = ev.get(tc).and_then(|v| match v {
                            Val::Str(c) => match &*c {
                                "4" | "6" => Some("ip"),
                                "u" => Some("unix"),
                                _ => None,
                            },
                            _ => None,
                        });
                        one(fam.map(|t| Val::Str(Cow::Borrowed(t))), &mut f)
                    }
                    Derived::Failed(res) => {
                        let failed = ev.get(res).and_then(|r| as_num(&r)).map(|n| n < 0);
                        one(failed.map(Val::Bool), &mut f)
                    }
                }
            }
        }
    }
}

/// A field with its transformers, innermost first.
#[derive(Debug, Clone)]
pub(crate) struct Operand {
    pub access: Access,
    pub transforms: Box<[Transformer]>,
}

fn transform<'e>(t: Transformer, v: Val<'e>) -> Option<Val<'e>> {
    Some(match t {
        Transformer::Len => Val::Num(with_text(&v, |s| s.len() as i64)),
        Transformer::ToLower => match v {
            Val::Str(s) if s.bytes().any(|b| b.is_ascii_uppercase()) => {
                Val::Str(Cow::Owned(s.to_ascii_lowercase()))
            }
            other => other,
        },
        Transformer::ToUpper => match v {
            Val::Str(s) if s.bytes().any(|b| b.is_ascii_lowercase()) => {
                Val::Str(Cow::Owned(s.to_ascii_uppercase()))
            }
            other => other,
        },
        Transformer::Basename => match v {
            Val::Str(Cow::Borrowed(s)) => {
                Val::Str(Cow::Borrowed(s.rsplit('/').next().unwrap_or(s)))
            }
            Val::Str(Cow::Owned(s)) => {
                Val::Str(Cow::Owned(s.rsplit('/').next().unwrap_or(&s).to_owned()))
            }
            other => other,
        },
        Transformer::B64 => {
            let bytes =
                with_text(&v, |s| base64::engine::general_purpose::STANDARD.decode(s)).ok()?;
            Val::Str(Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()))
        }
    })
}

impl Operand {
    /// Like [`Access::any`], with the transformers applied; a value a transformer rejects
    /// (invalid base64) counts as missing.
    pub fn any<'e, E: Event + ?Sized>(
        &self,
        ev: &'e E,
        mut f: impl FnMut(Val<'e>) -> bool,
    ) -> (bool, bool) {
        if self.transforms.is_empty() {
            return self.access.any(ev, f);
        }
        let mut present = false;
        let (_, hit) = self.access.any(ev, |v| {
            match self.transforms.iter().try_fold(v, |v, t| transform(*t, v)) {
                Some(v) => {
                    present = true;
                    f(v)
                }
                None => false,
            }
        });
        (present, hit)
    }

    pub fn first<'e, E: Event + ?Sized>(&self, ev: &'e E) -> Option<Val<'e>> {
        let mut out = None;
        self.any(ev, |v| {
            out = Some(v);
            true
        });
        out
    }
}

/// What a value is tested for.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    StrEq(Box<str>),
    StrOrd(Ord4, Box<str>),
    StrIn(StrSet),
    Contains(Finder<'static>),
    /// Any of several substrings, or one case-insensitive one.
    ContainsAny(AhoCorasick),
    StartsWith(Box<str>),
    IStartsWith(Box<str>),
    EndsWith(Box<str>),
    BStartsWith(Box<[u8]>),
    Glob(GlobMatcher),
    Regex(Regex),
    Pmatch(Prefixes),
    NumEq(i64),
    NumOrd(Ord4, i64),
    NumIn(Box<[i64]>),
    Bool(bool),
    IpIn(Box<[IpAddr]>),
    NetIn(Box<[Net]>),
    /// Compare with another field's value.
    Field(FieldCmp, Box<Operand>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldCmp {
    Eq,
    Ord(Ord4),
    Contains,
    IContains,
    StartsWith,
    EndsWith,
}

/// An event without fields.
struct Nothing;

impl Event for Nothing {
    fn get(&self, _: &Key) -> Option<Val<'_>> {
        None
    }
}

impl Pred {
    /// Whether the text `s` passes, for a predicate that needs nothing else of the event (all
    /// but a comparison with another field).
    pub fn test_text(&self, s: &str) -> Option<bool> {
        (!matches!(self, Pred::Field(..))).then(|| self.test(&Val::Str(Cow::Borrowed(s)), &Nothing))
    }

    fn test<E: Event + ?Sized>(&self, v: &Val<'_>, ev: &E) -> bool {
        match self {
            Pred::StrEq(s) => with_text(v, |t| t == &**s),
            Pred::StrOrd(o, s) => with_text(v, |t| o.holds(t.cmp(s))),
            Pred::StrIn(set) => with_text(v, |t| set.contains(t)),
            Pred::Contains(f) => with_text(v, |t| f.find(t.as_bytes()).is_some()),
            Pred::ContainsAny(ac) => with_text(v, |t| ac.is_match(t)),
            Pred::StartsWith(p) => with_text(v, |t| t.starts_with(&**p)),
            Pred::IStartsWith(p) => with_text(v, |t| {
                t.len() >= p.len() && t.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes())
            }),
            Pred::EndsWith(p) => with_text(v, |t| t.ends_with(&**p)),
            Pred::BStartsWith(p) => with_text(v, |t| t.as_bytes().starts_with(p)),
            Pred::Glob(g) => with_text(v, |t| g.is_match(t)),
            Pred::Regex(r) => with_text(v, |t| r.is_match(t)),
            Pred::Pmatch(p) => with_text(v, |t| p.matches(t)),
            Pred::NumEq(n) => as_num(v) == Some(*n),
            Pred::NumOrd(o, n) => as_num(v).is_some_and(|x| o.holds(x.cmp(n))),
            Pred::NumIn(set) => as_num(v).is_some_and(|x| set.contains(&x)),
            Pred::Bool(b) => as_bool(v) == Some(*b),
            Pred::IpIn(set) => as_ip(v).is_some_and(|ip| set.contains(&ip)),
            Pred::NetIn(nets) => as_ip(v).is_some_and(|ip| nets.iter().any(|n| n.contains(ip))),
            Pred::Field(cmp, other) => match other.first(ev) {
                Some(w) => field_cmp(*cmp, v, &w),
                None => false,
            },
        }
    }
}

fn field_cmp(cmp: FieldCmp, a: &Val<'_>, b: &Val<'_>) -> bool {
    if let (Val::Num(x), Some(y)) = (a, as_num(b)) {
        match cmp {
            FieldCmp::Eq => return *x == y,
            FieldCmp::Ord(o) => return o.holds(x.cmp(&y)),
            _ => {}
        }
    }
    with_text(a, |s| with_text(b, |t| text_cmp(cmp, s, t)))
}

fn text_cmp(cmp: FieldCmp, s: &str, t: &str) -> bool {
    match cmp {
        FieldCmp::Eq => s == t,
        FieldCmp::Ord(o) => o.holds(s.cmp(t)),
        FieldCmp::Contains => s.contains(t),
        FieldCmp::IContains => s.to_ascii_lowercase().contains(&t.to_ascii_lowercase()),
        FieldCmp::StartsWith => s.starts_with(t),
        FieldCmp::EndsWith => s.ends_with(t),
    }
}

/// One test: `negate` turns "some value matches" into "no value matches" (`!=`), and a missing
/// field fails either way.
#[derive(Debug, Clone)]
pub(crate) struct Test {
    pub operand: Operand,
    pub pred: Option<Pred>,
    pub negate: bool,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    /// Shared: a rule's condition is specialized for each event type it can match, and the
    /// copies share their tests.
    Test(Arc<Test>),
    Const(bool),
}

impl Node {
    pub fn eval<E: Event + ?Sized>(&self, ev: &E) -> bool {
        match self {
            Node::And(items) => items.iter().all(|n| n.eval(ev)),
            Node::Or(items) => items.iter().any(|n| n.eval(ev)),
            Node::Not(n) => !n.eval(ev),
            Node::Const(b) => *b,
            Node::Test(t) => match &t.pred {
                None => t.operand.any(ev, |_| true).0,
                Some(pred) => {
                    let (present, hit) = t.operand.any(ev, |v| pred.test(&v, ev));
                    present && (hit != t.negate)
                }
            },
        }
    }
}
