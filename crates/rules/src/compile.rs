//! From definitions to an evaluable [`Ruleset`]: conditions are parsed, macros and lists
//! expanded, exceptions appended as `and not (...)`, fields resolved against the catalogue and
//! operators turned into matchers (hash sets, substring finders, globs, regexes) once.
//!
//! A field or source haechi knows but cannot evaluate makes its rule *unsupported*: the rule is
//! reported by name with what it needs and left out, and the rest loads. Anything else wrong is
//! an [`Error`].
//!
//! Each macro and each list is expanded once (per `skip-if-unknown-filter` setting, which
//! changes how a macro's unknown fields count) and the result copied where it is used, with the
//! errors and unsupported constructs it carries. Everything built is counted against
//! [`MAX_COMPILED_SIZE`] and nesting against [`MAX_COMPILED_DEPTH`], so a few kilobytes of macros
//! that use each other twice stop at the limit with an error instead of doubling 40 times.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use globset::GlobBuilder;
use memchr::memmem::Finder;
use regex::Regex;

use crate::alert::SUGGESTED_FIELDS;
use crate::ast::{Check, Expr, FieldName, Op, Operand as AstOperand, Rhs, Transformer, Value};
use crate::error::{Error, Loc};
use crate::eval::{
    Access, Derived, FieldCmp, Key, Net, Node, Operand, Ord4, Pred, Prefixes, Test, parse_bool,
    parse_num,
};
use crate::fields::{self, Arg, Derive, FieldType, Source};
use crate::hash::StrSet;
use crate::limits::{MAX_COMPILED_DEPTH, MAX_COMPILED_SIZE, MAX_EXPANSION_CHAIN, thousands};
use crate::load::{Definitions, ExValue, ExceptionDef, ListDef, RuleDef};
use crate::output::{self, Part, Piece, Template};
use crate::parse::{ParseError, parse_condition, parse_field_prefix, unquote_item};
use crate::rule::{Rule, Unsupported};

/// How many ancestors `proc.aname` without an index looks at.
const MAX_ANCESTORS: usize = 16;

/// Field names to dense keys.
#[derive(Default)]
pub(crate) struct Interner {
    map: HashMap<String, Key>,
    pub keys: Vec<Key>,
}

impl Interner {
    pub fn key(&mut self, name: &str) -> Key {
        if let Some(k) = self.map.get(name) {
            return k.clone();
        }
        let key = Key {
            id: u32::try_from(self.keys.len()).unwrap_or(u32::MAX),
            name: name.into(),
        };
        self.map.insert(name.to_owned(), key.clone());
        self.keys.push(key.clone());
        key
    }
}

/// Shared state while compiling every rule.
pub(crate) struct Compiler<'d> {
    lists: HashMap<&'d str, &'d ListDef>,
    macros: HashMap<&'d str, (&'d Loc, Result<Expr, ParseError>)>,
    /// Each macro compiled once, by name and `skip-if-unknown-filter`.
    macro_cache: HashMap<(&'d str, bool), Rc<Expansion>>,
    /// Each list expanded once.
    list_cache: HashMap<&'d str, Rc<ListExpansion>>,
    pub interner: Interner,
    pub errors: Vec<Error>,
    reported: HashSet<Error>,
    /// Nodes and list values built so far, copies included (see [`MAX_COMPILED_SIZE`]).
    pub size: usize,
    /// Set once `size` passes the limit: everything after compiles to nothing.
    exhausted: bool,
}

/// A compiled macro and what compiling it found, replayed into each scope that uses it.
struct Expansion {
    node: Node,
    /// Nodes of `node` (what a copy costs).
    nodes: usize,
    /// How deep `node` nests.
    depth: usize,
    errors: Vec<Error>,
    unsupported: Vec<String>,
    unknown: Vec<String>,
    failed: bool,
}

/// A list's values, its named lists expanded and duplicates dropped, with its errors
/// (message, hint), reported in each scope that uses it.
struct ListExpansion {
    values: Vec<String>,
    errors: Vec<(String, &'static str)>,
}

/// A list without duplicates that keeps the first occurrence's order.
struct Unique<T> {
    items: Vec<T>,
    seen: HashSet<T>,
}

impl<T> Default for Unique<T> {
    fn default() -> Self {
        Unique {
            items: Vec::new(),
            seen: HashSet::new(),
        }
    }
}

impl<T: Clone + Eq + Hash> Unique<T> {
    fn push(&mut self, item: T) {
        if self.seen.insert(item.clone()) {
            self.items.push(item);
        }
    }

    fn extend<'a>(&mut self, items: impl IntoIterator<Item = &'a T>)
    where
        T: 'a,
    {
        for item in items {
            if !self.seen.contains(item) {
                self.push(item.clone());
            }
        }
    }
}

/// The rule (or macro) being compiled, for messages.
struct Scope<'a> {
    rule: &'a str,
    loc: Loc,
    /// `macro 'x'` while inside a macro.
    item: String,
    /// Unsupported constructs found so far.
    unsupported: Unique<String>,
    /// Unknown fields, when the rule says `skip-if-unknown-filter`.
    skip_unknown: bool,
    unknown: Unique<String>,
    failed: bool,
    /// Errors found so far, with the item they are in (the rule is named when they are
    /// reported, so a macro's errors can be replayed for every rule using it).
    errors: Unique<Error>,
    /// Nesting of the node being built, macros expanded, and the deepest reached.
    depth: usize,
    max_depth: usize,
}

impl Scope<'_> {
    fn unsupported(&mut self, what: String) {
        self.unsupported.push(what);
    }

    /// Takes over what a macro's or list's expansion found.
    fn absorb(&mut self, x: &Expansion) {
        self.errors.extend(&x.errors);
        self.unsupported.extend(&x.unsupported);
        self.unknown.extend(&x.unknown);
        self.failed |= x.failed;
    }
}

impl<'d> Compiler<'d> {
    pub fn new(defs: &'d Definitions) -> Compiler<'d> {
        let lists = defs.lists.iter().map(|l| (l.name.as_str(), l)).collect();
        let mut errors = Vec::new();
        let macros = defs
            .macros
            .iter()
            .map(|m| {
                let parsed = parse_condition(&m.condition);
                if let Err(e) = &parsed {
                    errors.push(
                        Error::new(
                            &m.loc,
                            Some(&format!("macro '{}'", m.name)),
                            format!("syntax error: {e}"),
                        )
                        .hint("check the parentheses, quotes and operators of the condition"),
                    );
                }
                (m.name.as_str(), (&m.loc, parsed))
            })
            .collect();
        let mut interner = Interner::default();
        interner.key("evt.type");
        Compiler {
            lists,
            macros,
            macro_cache: HashMap::new(),
            list_cache: HashMap::new(),
            interner,
            errors,
            reported: HashSet::new(),
            size: 0,
            exhausted: false,
        }
    }

    /// Compiles one rule; `Err` carries what makes it unsupported.
    pub fn rule(&mut self, def: &RuleDef) -> Option<Result<Rule, Unsupported>> {
        let mut scope = Scope {
            rule: &def.name,
            loc: def.cond_loc.clone(),
            item: format!("rule '{}'", def.name),
            unsupported: Unique::default(),
            skip_unknown: def.skip_if_unknown_filter,
            unknown: Unique::default(),
            failed: false,
            errors: Unique::default(),
            depth: 0,
            max_depth: 0,
        };
        if def.source != "syscall" {
            scope.unsupported(format!(
                "source `{}` (haechi evaluates syscall events only)",
                def.source
            ));
        }
        let mut cond = Node::Const(false);
        if def.source == "syscall" {
            match parse_condition(&def.condition) {
                Ok(expr) => {
                    cond = self.expr(&expr, &mut scope, &mut Vec::new());
                    if !def.exceptions.is_empty() {
                        scope.loc = def.loc.clone();
                        if let Some(ex) = self.exceptions(&def.exceptions, &mut scope) {
                            cond = Node::And(Box::new([cond, Node::Not(Box::new(ex))]));
                        }
                    }
                }
                Err(e) => {
                    self.errors.push(
                        Error::new(
                            &def.cond_loc,
                            Some(&scope.item),
                            format!("syntax error in the condition: {e}"),
                        )
                        .hint("check the parentheses, quotes and operators of the condition"),
                    );
                    scope.failed = true;
                }
            }
        }
        let mut template = Template::default();
        if def.source == "syscall" {
            scope.loc = def.loc.clone();
            // A folded YAML scalar (`output: >`) ends in a newline Falco does not print.
            template = self.template(&with_suggested_output(def.output.trim()), &mut scope);
        }
        for e in std::mem::take(&mut scope.errors).items {
            self.report(e, &def.name);
        }
        for field in std::mem::take(&mut scope.unknown).items {
            scope
                .unsupported
                .push(format!("unknown field `{field}` (skip-if-unknown-filter)"));
        }
        if !scope.unsupported.items.is_empty() {
            return Some(Err(Unsupported {
                rule: def.name.clone(),
                loc: def.loc.clone(),
                constructs: scope.unsupported.items,
            }));
        }
        if scope.failed {
            return None;
        }
        Some(Ok(Rule {
            name: def.name.clone(),
            desc: def.desc.clone(),
            priority: def.priority,
            tags: def.tags.clone(),
            source: def.source.clone(),
            enabled: def.enabled,
            loc: def.loc.clone(),
            cond: Arc::new(cond),
            output: template,
        }))
    }

    /// Records an error of the item being compiled; the rule that uses it is named when the
    /// rule is done ([`Compiler::report`]).
    fn error(&mut self, scope: &mut Scope<'_>, message: String, hint: &str) {
        scope.failed = true;
        scope
            .errors
            .push(Error::new(&scope.loc, Some(&scope.item), message).hint(hint));
    }

    /// Reports an error found while compiling rule `rule`, once.
    fn report(&mut self, mut e: Error, rule: &str) {
        if let Some(item) = &e.item
            && !item.starts_with("rule")
        {
            e.item = Some(format!("{item} (used by rule '{rule}')"));
        }
        if self.reported.insert(e.clone()) {
            self.errors.push(e);
        }
    }

    /// Counts `n` more nodes or values; false (after one error) past [`MAX_COMPILED_SIZE`].
    fn spend(&mut self, n: usize, scope: &mut Scope<'_>) -> bool {
        self.size = self.size.saturating_add(n);
        if self.size <= MAX_COMPILED_SIZE {
            return true;
        }
        if !self.exhausted {
            self.exhausted = true;
            self.error(
                scope,
                format!(
                    "the rules compile to more than {} nodes (conditions with their macros and \
                     lists expanded, each use a copy), the most haechi compiles",
                    thousands(MAX_COMPILED_SIZE)
                ),
                "a macro that uses another macro twice doubles with each level: use each macro \
                 once per condition, or put values shared by several conditions in a list",
            );
        }
        scope.failed = true;
        false
    }

    /// One level deeper; false (after an error) past [`MAX_COMPILED_DEPTH`].
    fn enter(&mut self, scope: &mut Scope<'_>, by: usize) -> bool {
        if scope.depth + by > MAX_COMPILED_DEPTH {
            self.error(
                scope,
                format!(
                    "the condition nests deeper than {MAX_COMPILED_DEPTH} levels with its macros \
                     expanded"
                ),
                "flatten the condition: fewer macros wrapping macros, fewer nested parentheses",
            );
            return false;
        }
        scope.max_depth = scope.max_depth.max(scope.depth + by);
        true
    }

    fn expr(&mut self, e: &Expr, scope: &mut Scope<'_>, chain: &mut Vec<&'d str>) -> Node {
        if self.exhausted {
            scope.failed = true;
            return Node::Const(false);
        }
        match e {
            Expr::Check(c) => {
                if !self.enter(scope, 1) || !self.spend(1, scope) {
                    return Node::Const(false);
                }
                self.check(c, scope)
            }
            Expr::Macro { name, .. } => self.macro_ref(name, scope, chain),
            Expr::And(_) | Expr::Or(_) | Expr::Not(_) => {
                if !self.enter(scope, 1) || !self.spend(1, scope) {
                    return Node::Const(false);
                }
                scope.depth += 1;
                let node = match e {
                    Expr::And(items) => {
                        Node::And(items.iter().map(|x| self.expr(x, scope, chain)).collect())
                    }
                    Expr::Or(items) => {
                        merge_or(items.iter().map(|x| self.expr(x, scope, chain)).collect())
                    }
                    Expr::Not(x) => Node::Not(Box::new(self.expr(x, scope, chain))),
                    _ => Node::Const(false),
                };
                scope.depth -= 1;
                node
            }
        }
    }

    fn macro_ref(&mut self, name: &str, scope: &mut Scope<'_>, chain: &mut Vec<&'d str>) -> Node {
        let Some((&name, &(loc, ref parsed))) = self.macros.get_key_value(name) else {
            let hint = if self.lists.contains_key(name) {
                format!("`{name}` is a list: use it after `in`, as in `proc.name in ({name})`")
            } else {
                format!("define it with `- macro: {name}`; a field name has a dot (`proc.name`)")
            };
            self.error(scope, format!("unknown macro `{name}`"), &hint);
            return Node::Const(false);
        };
        if let Some(done) = self.macro_cache.get(&(name, scope.skip_unknown)).cloned() {
            return self.copy(&done, scope);
        }
        let path = || chain_text(chain, name);
        if chain.contains(&name) {
            let message = format!("macro `{name}` uses itself ({})", path());
            self.error(
                scope,
                message,
                "break the cycle: a macro cannot refer to itself, directly or through others",
            );
            return Node::Const(false);
        }
        if chain.len() >= MAX_EXPANSION_CHAIN {
            let message = format!(
                "macros use macros more than {MAX_EXPANSION_CHAIN} deep ({})",
                path()
            );
            self.error(
                scope,
                message,
                "flatten the chain: a macro may use the conditions of several others directly",
            );
            return Node::Const(false);
        }
        let Ok(expr) = parsed.clone() else {
            // Its syntax error is reported once, with the macro.
            scope.failed = true;
            return Node::Const(false);
        };
        let mut inner = Scope {
            rule: scope.rule,
            loc: loc.clone(),
            item: format!("macro '{name}'"),
            unsupported: Unique::default(),
            skip_unknown: scope.skip_unknown,
            unknown: Unique::default(),
            failed: false,
            errors: Unique::default(),
            depth: scope.depth,
            max_depth: scope.depth,
        };
        chain.push(name);
        let node = self.expr(&expr, &mut inner, chain);
        chain.pop();
        let done = Rc::new(Expansion {
            nodes: count(&node),
            depth: inner.max_depth - scope.depth,
            node,
            errors: inner.errors.items,
            unsupported: inner.unsupported.items,
            unknown: inner.unknown.items,
            failed: inner.failed,
        });
        self.macro_cache
            .insert((name, scope.skip_unknown), done.clone());
        self.copy(&done, scope)
    }

    /// A copy of a compiled macro where `scope` uses it, counted against the limits.
    fn copy(&mut self, done: &Expansion, scope: &mut Scope<'_>) -> Node {
        scope.absorb(done);
        if self.exhausted || !self.enter(scope, done.depth) || !self.spend(done.nodes, scope) {
            scope.failed = true;
            return Node::Const(false);
        }
        done.node.clone()
    }

    /// Resolves a field; `None` after reporting what is wrong with it.
    fn field(&mut self, f: &FieldName, scope: &mut Scope<'_>) -> Option<(Access, FieldType)> {
        let Some((def, dotted)) = fields::lookup(&f.name) else {
            if let Some(why) = fields::unsupported_class(&f.name) {
                scope.unsupported(format!("field `{f}` ({why})"));
            } else if scope.skip_unknown {
                scope.unknown.push(f.to_string());
            } else {
                self.error(
                    scope,
                    format!("unknown field `{f}`"),
                    "see the field table in docs/rules.md for the fields haechi knows",
                );
            }
            return None;
        };
        if let Source::Unsupported(why) = def.source {
            scope.unsupported(format!("field `{f}` ({why})"));
            return None;
        }
        let arg = match (dotted, f.arg.as_deref()) {
            (Some(_), Some(_)) => {
                self.error(
                    scope,
                    format!("`{f}` has two arguments"),
                    "write `evt.arg.name` or `evt.arg[0]`, not both",
                );
                return None;
            }
            (d, a) => d.or(a),
        };
        let key_name = f.to_string();
        match (def.arg, arg) {
            (Arg::None, Some(_)) => {
                self.error(
                    scope,
                    format!("`{}` takes no argument", def.name),
                    &format!("write `{}` alone", def.name),
                );
                None
            }
            (Arg::Name, None) => {
                self.error(
                    scope,
                    format!("`{}` needs an argument", def.name),
                    &format!("write `{}.name` or `{}[name]`", def.name, def.name),
                );
                None
            }
            (Arg::Ancestor, None) => {
                let keys = (1..=MAX_ANCESTORS)
                    .map(|i| self.interner.key(&format!("{}[{i}]", def.name)))
                    .collect();
                Some((Access::Ancestors(keys), FieldType::List))
            }
            (Arg::Ancestor, Some(a)) => {
                let Ok(level) = a.parse::<u32>() else {
                    self.error(
                        scope,
                        format!("`{f}`: the ancestor level `{a}` is not a number"),
                        "write a level such as `proc.aname[2]` (1 = parent)",
                    );
                    return None;
                };
                let key = self.interner.key(&key_name);
                let base = def.name.rsplit('.').next().unwrap_or("");
                let alias = match (level, base) {
                    (0, "aname") => Some("proc.name"),
                    (0, "apid") => Some("proc.pid"),
                    (0, "aexe") => Some("proc.exe"),
                    (0, "aexepath") => Some("proc.exepath"),
                    (0, "acmdline") => Some("proc.cmdline"),
                    (1, "aname") => Some("proc.pname"),
                    (1, "apid") => Some("proc.ppid"),
                    (1, "aexe") => Some("proc.pexe"),
                    (1, "aexepath") => Some("proc.pexepath"),
                    (1, "acmdline") => Some("proc.pcmdline"),
                    _ => None,
                };
                let access = match alias {
                    Some(a) => Access::Derived(key, Derived::Alias(self.interner.key(a))),
                    None => Access::Key(key),
                };
                Some((access, def.ty))
            }
            _ => {
                let key = self.interner.key(&key_name);
                let access = match def.source {
                    Source::Derived(d) => Access::Derived(key, self.derive(d)),
                    _ => Access::Key(key),
                };
                Some((access, def.ty))
            }
        }
    }

    fn derive(&mut self, d: Derive) -> Derived {
        let mut k = |n: &str| self.interner.key(n);
        match d {
            Derive::Const(c) => Derived::Const(c),
            Derive::Alias(a) => Derived::Alias(k(a)),
            Derive::Either(a, b) => Derived::Either(k(a), k(b)),
            Derive::Local(c, s) => Derived::Local(k(c), k(s), k("evt.type")),
            Derive::Remote(c, s) => Derived::Remote(k(c), k(s), k("evt.type")),
            Derive::FdNum => Derived::FdNum(k("evt.type"), k("evt.rawres")),
            Derive::FdType => Derived::FdType(k("fd.typechar")),
            Derive::SockFamily => Derived::SockFamily(k("fd.typechar")),
            Derive::Failed => Derived::Failed(k("evt.rawres")),
        }
    }

    fn operand(&mut self, o: &AstOperand, scope: &mut Scope<'_>) -> Option<(Operand, FieldType)> {
        let mut transforms = Vec::new();
        let mut cur = o;
        while let AstOperand::Transform(t, inner) = cur {
            transforms.push(*t);
            cur = inner;
        }
        transforms.reverse();
        let AstOperand::Field(f) = cur else {
            return None;
        };
        let (access, mut ty) = self.field(f, scope)?;
        for t in &transforms {
            if !matches!(ty, FieldType::String | FieldType::List) {
                self.error(
                    scope,
                    format!("`{}` needs text, but `{f}` is a {ty}", t.name()),
                    "apply tolower, toupper, b64, basename and len to string fields",
                );
                return None;
            }
            ty = if *t == Transformer::Len {
                FieldType::Number
            } else {
                FieldType::String
            };
        }
        Some((
            Operand {
                access,
                transforms: transforms.into(),
            },
            ty,
        ))
    }

    /// The values of a list operator's right-hand side, list names expanded, duplicates
    /// dropped (every list operator treats its values as a set).
    fn list_values(&mut self, items: &[Value], scope: &mut Scope<'_>) -> Vec<String> {
        let mut out = Unique::default();
        for v in items {
            if v.quoted {
                out.push(v.text.clone());
            } else if let Some((&name, _)) = self.lists.get_key_value(v.text.as_str()) {
                let list = self.expand(name, scope, &mut Vec::new());
                for (message, hint) in &list.errors {
                    self.error(scope, message.clone(), hint);
                }
                out.extend(&list.values);
            } else {
                out.push(unquote_item(&v.text));
            }
        }
        self.spend(out.items.len(), scope);
        out.items
    }

    /// The values of list `name`, expanded once.
    fn expand(
        &mut self,
        name: &'d str,
        scope: &mut Scope<'_>,
        chain: &mut Vec<&'d str>,
    ) -> Rc<ListExpansion> {
        if let Some(done) = self.list_cache.get(name) {
            return done.clone();
        }
        let mut values = Unique::default();
        let mut errors = Unique::default();
        if chain.len() >= MAX_EXPANSION_CHAIN {
            errors.push((
                format!(
                    "lists name lists more than {MAX_EXPANSION_CHAIN} deep ({})",
                    chain_text(chain, name)
                ),
                "flatten the chain: a list may name several others directly",
            ));
        } else if let Some(list) = self.lists.get(name).copied() {
            chain.push(name);
            for x in &list.items {
                match self.lists.get_key_value(x.as_str()) {
                    _ if self.exhausted => break,
                    Some(_) if chain.contains(&x.as_str()) => errors.push((
                        format!("list `{x}` names itself ({})", chain_text(chain, x)),
                        "remove the list's name from its own items and from the lists it names",
                    )),
                    Some((&sub, _)) => {
                        let sub = self.expand(sub, scope, chain);
                        values.extend(&sub.values);
                        errors.extend(&sub.errors);
                    }
                    None => values.push(unquote_item(x)),
                }
            }
            chain.pop();
        }
        // Each expanded list is kept, so it counts.
        self.spend(values.items.len(), scope);
        let done = Rc::new(ListExpansion {
            values: values.items,
            errors: errors.items,
        });
        self.list_cache.insert(name, done.clone());
        done
    }

    fn check(&mut self, c: &Check, scope: &mut Scope<'_>) -> Node {
        let Some((operand, ty)) = self.operand(&c.lhs, scope) else {
            return Node::Const(false);
        };
        let field = c.lhs.field().to_string();
        let (pred, negate) = match &c.rhs {
            Rhs::None => (None, false),
            Rhs::Field(other) => {
                let Some((other, _)) = self.operand(other, scope) else {
                    return Node::Const(false);
                };
                let (cmp, negate) = match c.op {
                    Op::Eq => (FieldCmp::Eq, false),
                    Op::Ne => (FieldCmp::Eq, true),
                    Op::Lt => (FieldCmp::Ord(Ord4::Lt), false),
                    Op::Le => (FieldCmp::Ord(Ord4::Le), false),
                    Op::Gt => (FieldCmp::Ord(Ord4::Gt), false),
                    Op::Ge => (FieldCmp::Ord(Ord4::Ge), false),
                    Op::Contains => (FieldCmp::Contains, false),
                    Op::IContains => (FieldCmp::IContains, false),
                    Op::StartsWith => (FieldCmp::StartsWith, false),
                    Op::EndsWith => (FieldCmp::EndsWith, false),
                    op => {
                        self.error(scope, format!("`{}` cannot compare `{field}` with another field", op.name()), "compare fields with =, !=, <, <=, >, >=, contains, icontains, startswith or endswith");
                        return Node::Const(false);
                    }
                };
                (Some(Pred::Field(cmp, Box::new(other))), negate)
            }
            Rhs::List(items) => {
                let values = self.list_values(items, scope);
                match self.list_pred(c.op, ty, &field, &values, scope) {
                    Some(p) => (Some(p), false),
                    None => return Node::Const(false),
                }
            }
            Rhs::Value(v) => match self.value_pred(c.op, ty, &field, &v.text, scope) {
                Some(pn) => (Some(pn.0), pn.1),
                None => return Node::Const(false),
            },
        };
        Node::Test(Arc::new(Test {
            operand,
            pred,
            negate,
        }))
    }

    fn bad_op(
        &mut self,
        op: Op,
        ty: FieldType,
        field: &str,
        scope: &mut Scope<'_>,
    ) -> Option<(Pred, bool)> {
        let ops = match ty {
            FieldType::String | FieldType::List => "any operator",
            FieldType::Number | FieldType::Time => "=, !=, <, <=, >, >=, in, intersects, exists",
            FieldType::Bool => "=, !=, in, exists",
            FieldType::IpAddr | FieldType::IpNet => "=, !=, in, intersects, exists",
        };
        self.error(
            scope,
            format!(
                "operator `{}` does not apply to `{field}`, a {ty} field",
                op.name()
            ),
            &format!("{ty} fields take {ops}"),
        );
        None
    }

    /// A scalar operator; returns the predicate and whether it is negated.
    fn value_pred(
        &mut self,
        op: Op,
        ty: FieldType,
        field: &str,
        v: &str,
        scope: &mut Scope<'_>,
    ) -> Option<(Pred, bool)> {
        let negate = op == Op::Ne;
        match ty {
            FieldType::String | FieldType::List => {
                self.str_pred(op, field, v, scope).map(|p| (p, negate))
            }
            FieldType::Number | FieldType::Time => {
                let Some(n) = parse_num(v) else {
                    self.error(
                        scope,
                        format!("`{v}` is not a number, and `{field}` is a number field"),
                        "compare number fields with integers such as 0, -1 or 0x10",
                    );
                    return None;
                };
                let ord = |o| Some((Pred::NumOrd(o, n), false));
                match op {
                    Op::Eq | Op::Ne => Some((Pred::NumEq(n), negate)),
                    Op::Lt => ord(Ord4::Lt),
                    Op::Le => ord(Ord4::Le),
                    Op::Gt => ord(Ord4::Gt),
                    Op::Ge => ord(Ord4::Ge),
                    _ => self.bad_op(op, ty, field, scope),
                }
            }
            FieldType::Bool => {
                let Some(b) = parse_bool(v) else {
                    self.error(
                        scope,
                        format!("`{v}` is not true or false, and `{field}` is a bool field"),
                        "write `true` or `false`",
                    );
                    return None;
                };
                match op {
                    Op::Eq | Op::Ne => Some((Pred::Bool(b), negate)),
                    _ => self.bad_op(op, ty, field, scope),
                }
            }
            FieldType::IpAddr | FieldType::IpNet => match op {
                Op::Eq | Op::Ne => self
                    .ip_pred(ty, field, &[v.to_owned()], scope)
                    .map(|p| (p, negate)),
                _ => self.bad_op(op, ty, field, scope),
            },
        }
    }

    fn str_pred(&mut self, op: Op, field: &str, v: &str, scope: &mut Scope<'_>) -> Option<Pred> {
        Some(match op {
            Op::Eq | Op::Ne => Pred::StrEq(v.into()),
            Op::Lt => Pred::StrOrd(Ord4::Lt, v.into()),
            Op::Le => Pred::StrOrd(Ord4::Le, v.into()),
            Op::Gt => Pred::StrOrd(Ord4::Gt, v.into()),
            Op::Ge => Pred::StrOrd(Ord4::Ge, v.into()),
            Op::Contains => Pred::Contains(Finder::new(v.as_bytes()).into_owned()),
            Op::IContains => match AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build([v])
            {
                Ok(ac) => Pred::ContainsAny(ac),
                Err(e) => {
                    self.error(
                        scope,
                        format!("`{v}` cannot be searched for: {e}"),
                        "use a shorter value",
                    );
                    return None;
                }
            },
            Op::StartsWith => Pred::StartsWith(v.into()),
            Op::IStartsWith => Pred::IStartsWith(v.into()),
            Op::EndsWith => Pred::EndsWith(v.into()),
            Op::BContains | Op::BStartsWith => {
                let Some(bytes) = hex(v) else {
                    self.error(
                        scope,
                        format!("`{v}` is not hexadecimal bytes, as `{}` needs", op.name()),
                        "write the bytes in hex, such as `cafebabe`",
                    );
                    return None;
                };
                if op == Op::BContains {
                    Pred::Contains(Finder::new(&bytes).into_owned())
                } else {
                    Pred::BStartsWith(bytes.into())
                }
            }
            Op::Glob | Op::IGlob => {
                let glob = GlobBuilder::new(v)
                    .literal_separator(false)
                    .backslash_escape(false)
                    .case_insensitive(op == Op::IGlob)
                    .build();
                match glob {
                    Ok(g) => Pred::Glob(g.compile_matcher()),
                    Err(e) => {
                        self.error(
                            scope,
                            format!("`{v}` is not a glob pattern: {e}"),
                            "globs use *, ? and [...] classes",
                        );
                        return None;
                    }
                }
            }
            Op::Regex => match Regex::new(&format!("^(?:{v})$")) {
                Ok(r) => Pred::Regex(r),
                Err(e) => {
                    self.error(
                        scope,
                        format!("`{v}` is not a regular expression: {e}"),
                        "regex uses RE2 syntax and must match the whole value",
                    );
                    return None;
                }
            },
            Op::In | Op::Intersects | Op::Pmatch | Op::Exists => {
                self.error(
                    scope,
                    format!("`{}` after `{field}` needs a list", op.name()),
                    "write `(a, b)`",
                );
                return None;
            }
        })
    }

    fn ip_pred(
        &mut self,
        ty: FieldType,
        field: &str,
        values: &[String],
        scope: &mut Scope<'_>,
    ) -> Option<Pred> {
        if ty == FieldType::IpAddr
            && let Some(ips) = values
                .iter()
                .map(|v| v.parse::<IpAddr>().ok())
                .collect::<Option<Vec<_>>>()
        {
            return Some(Pred::IpIn(ips.into()));
        }
        match values
            .iter()
            .map(|v| Net::parse(v))
            .collect::<Option<Vec<_>>>()
        {
            Some(nets) => Some(Pred::NetIn(nets.into())),
            None => {
                self.error(
                    scope,
                    format!(
                        "`{}` is not an IP address or network, and `{field}` is an {ty} field",
                        values.join(", ")
                    ),
                    "write addresses like 10.0.0.1 or networks like 10.0.0.0/8",
                );
                None
            }
        }
    }

    fn list_pred(
        &mut self,
        op: Op,
        ty: FieldType,
        field: &str,
        values: &[String],
        scope: &mut Scope<'_>,
    ) -> Option<Pred> {
        match ty {
            FieldType::String | FieldType::List => Some(match op {
                Op::Pmatch => Pred::Pmatch(Prefixes::new(values.iter().map(String::as_str))),
                _ => Pred::StrIn(values.iter().map(|v| v.as_str().into()).collect::<StrSet>()),
            }),
            _ if op == Op::Pmatch => self.bad_op(op, ty, field, scope).map(|p| p.0),
            FieldType::Number | FieldType::Time => match values
                .iter()
                .map(|v| parse_num(v))
                .collect::<Option<Vec<_>>>()
            {
                Some(nums) => Some(Pred::NumIn(nums.into())),
                None => {
                    self.error(
                        scope,
                        format!(
                            "`{field}` is a number field but the list has non-numbers: {}",
                            values.join(", ")
                        ),
                        "list integers only",
                    );
                    None
                }
            },
            FieldType::Bool => match values
                .iter()
                .map(|v| parse_bool(v))
                .collect::<Option<Vec<_>>>()
            {
                Some(b) if b.iter().all(|x| *x) => Some(Pred::Bool(true)),
                Some(b) if b.iter().all(|x| !*x) => Some(Pred::Bool(false)),
                Some(_) => Some(Pred::NumIn(Box::new([0, 1]))),
                None => {
                    self.error(
                        scope,
                        format!("`{field}` is a bool field but the list has other values"),
                        "list true and false only",
                    );
                    None
                }
            },
            FieldType::IpAddr | FieldType::IpNet => self.ip_pred(ty, field, values, scope),
        }
    }

    /// `exceptions` as one condition: any tuple of values matching.
    fn exceptions(&mut self, exceptions: &[ExceptionDef], scope: &mut Scope<'_>) -> Option<Node> {
        let mut alternatives = Vec::new();
        for ex in exceptions {
            scope.loc = ex.loc.clone();
            let what = format!("exception '{}'", ex.name);
            let mut fields = Vec::new();
            for f in &ex.fields {
                match parse_field_prefix(f) {
                    Some((name, used)) if used == f.len() => fields.push(name),
                    _ => {
                        self.error(
                            scope,
                            format!("{what}: `{f}` is not a field name"),
                            "write fields such as `proc.name` or `proc.aname[2]`",
                        );
                        return None;
                    }
                }
            }
            let mut ops = Vec::new();
            for c in &ex.comps {
                let op = match c.as_str() {
                    "=" | "==" => Op::Eq,
                    "!=" => Op::Ne,
                    "<" => Op::Lt,
                    "<=" => Op::Le,
                    ">" => Op::Gt,
                    ">=" => Op::Ge,
                    w => match Op::WORDS.iter().find(|(n, _)| *n == w) {
                        Some((_, op)) if *op != Op::Exists => *op,
                        _ => {
                            self.error(scope, format!("{what}: unknown operator `{c}` in comps"), "use =, !=, <, <=, >, >=, contains, startswith, endswith, glob, in, pmatch, ...");
                            return None;
                        }
                    },
                };
                ops.push(op);
            }
            if ex.single {
                let (Some(field), Some(&op)) = (fields.first(), ops.first()) else {
                    continue;
                };
                if ex.values.is_empty() {
                    continue;
                }
                let mut flat = Vec::new();
                flatten(&ex.values, &mut flat);
                if op.takes_list() {
                    alternatives.push(self.ex_check(field, op, Rhs::List(flat), scope));
                } else {
                    for v in flat {
                        alternatives.push(self.ex_check(field, op, Rhs::Value(v), scope));
                    }
                }
                continue;
            }
            for tuple in &ex.values {
                let ExValue::List(items) = tuple else {
                    self.error(scope, format!("{what}: a value is not a list of {} entries", fields.len()), "write each value as a list with one entry per field, such as `[bash, /tmp/x]`");
                    return None;
                };
                if items.len() != fields.len() {
                    self.error(
                        scope,
                        format!(
                            "{what}: a value has {} entries but there are {} fields",
                            items.len(),
                            fields.len()
                        ),
                        "give one entry per field",
                    );
                    return None;
                }
                let mut all = Vec::new();
                for ((field, &op), item) in fields.iter().zip(&ops).zip(items) {
                    let rhs = match (op.takes_list(), item) {
                        (true, ExValue::List(vs)) => {
                            let mut flat = Vec::new();
                            flatten(vs, &mut flat);
                            Rhs::List(flat)
                        }
                        (true, ExValue::Str(s)) => Rhs::List(vec![Value {
                            text: s.clone(),
                            quoted: false,
                        }]),
                        (false, ExValue::Str(s)) => Rhs::Value(Value {
                            text: s.clone(),
                            quoted: true,
                        }),
                        (false, ExValue::List(_)) => {
                            self.error(
                                scope,
                                format!(
                                    "{what}: a list value for `{}` with `{}`",
                                    field,
                                    op.name()
                                ),
                                "use `in` for a list of values, or give one value",
                            );
                            return None;
                        }
                    };
                    all.push(self.ex_check(field, op, rhs, scope));
                }
                alternatives.push(Node::And(all.into()));
            }
        }
        (!alternatives.is_empty()).then(|| Node::Or(alternatives.into()))
    }

    fn ex_check(&mut self, field: &FieldName, op: Op, rhs: Rhs, scope: &mut Scope<'_>) -> Node {
        let check = Check {
            lhs: AstOperand::Field(field.clone()),
            op,
            rhs,
            at: 0,
        };
        self.check(&check, scope)
    }

    fn template(&mut self, text: &str, scope: &mut Scope<'_>) -> Template {
        let mut parts = Vec::new();
        for piece in output::split(text) {
            match piece {
                Piece::Lit(s) => parts.push(Part::Lit(s)),
                Piece::Field(f) => {
                    let name = f.to_string();
                    match self.operand(&AstOperand::Field(f), scope) {
                        Some((operand, ty)) => parts.push(Part::Field { name, operand, ty }),
                        None => parts.push(Part::Lit("<NA>".into())),
                    }
                }
            }
        }
        Template { parts }
    }
}

/// `output` as Falco's default `append_output` leaves it: each of [`SUGGESTED_FIELDS`]
/// appended the way Falco formats a suggested field (`container_id=%container.id`).
fn with_suggested_output(output: &str) -> String {
    let mut text = output.to_owned();
    for field in SUGGESTED_FIELDS {
        text.push(' ');
        text.push_str(&field.replace('.', "_"));
        text.push_str("=%");
        text.push_str(field);
    }
    text
}

/// `a -> b -> c`, shortened in the middle when long.
fn chain_text(chain: &[&str], last: &str) -> String {
    let all: Vec<&str> = chain.iter().copied().chain([last]).collect();
    if all.len() <= 8 {
        return all.join(" -> ");
    }
    format!(
        "{} -> ... -> {}",
        all[..3].join(" -> "),
        all[all.len() - 3..].join(" -> ")
    )
}

/// Nodes in a compiled condition.
pub(crate) fn count(node: &Node) -> usize {
    match node {
        Node::And(items) | Node::Or(items) => 1 + items.iter().map(count).sum::<usize>(),
        Node::Not(inner) => 1 + count(inner),
        Node::Test(_) | Node::Const(_) => 1,
    }
}

fn flatten(values: &[ExValue], out: &mut Vec<Value>) {
    for v in values {
        match v {
            ExValue::Str(s) => out.push(Value {
                text: s.clone(),
                quoted: false,
            }),
            ExValue::List(vs) => flatten(vs, out),
        }
    }
}

fn hex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|p| {
            let d = |b: u8| (b as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

/// The event types a condition can match; `None` when it may match any.
pub(crate) fn event_types(node: &Node, evt_type: &Key) -> Option<BTreeSet<Box<str>>> {
    match node {
        Node::Const(false) => Some(BTreeSet::new()),
        Node::Const(true) | Node::Not(_) => None,
        Node::Test(t) => {
            let is_type = t.operand.transforms.is_empty()
                && matches!(&t.operand.access, Access::Key(k) if k == evt_type);
            if !is_type || t.negate {
                return None;
            }
            match &t.pred {
                Some(Pred::StrEq(s)) => Some([s.clone()].into()),
                Some(Pred::StrIn(set)) => Some(set.iter().cloned().collect()),
                _ => None,
            }
        }
        Node::And(items) => items
            .iter()
            .filter_map(|n| event_types(n, evt_type))
            .reduce(|a, b| a.intersection(&b).cloned().collect()),
        Node::Or(items) => items.iter().try_fold(BTreeSet::new(), |mut acc, n| {
            acc.extend(event_types(n, evt_type)?);
            Some(acc)
        }),
    }
}

/// `node` for events whose `evt.type` is `t`: tests of the type become constants, and what they
/// decide is folded away (a rule's `evt.type in (open, openat, openat2)` is never evaluated on
/// the events indexed under `openat`, and a branch for other types disappears).
pub(crate) fn specialize(node: &Node, evt_type: &Key, t: &str) -> Node {
    match node {
        Node::Const(b) => Node::Const(*b),
        Node::Test(test) => match type_test(test, evt_type, t) {
            Some(b) => Node::Const(b),
            None => node.clone(),
        },
        Node::Not(n) => match specialize(n, evt_type, t) {
            Node::Const(b) => Node::Const(!b),
            n => Node::Not(Box::new(n)),
        },
        Node::And(items) => fold(items, true, evt_type, t),
        Node::Or(items) => fold(items, false, evt_type, t),
    }
}

/// An `and` (`all`) or an `or` of specialized items: the neutral constant dropped, the
/// absorbing one deciding.
fn fold(items: &[Node], all: bool, evt_type: &Key, t: &str) -> Node {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match specialize(item, evt_type, t) {
            Node::Const(b) if b == all => {}
            Node::Const(b) => return Node::Const(b),
            n => out.push(n),
        }
    }
    match out.len() {
        0 => Node::Const(all),
        1 => out.pop().unwrap_or(Node::Const(all)),
        _ if all => Node::And(out.into()),
        _ => Node::Or(out.into()),
    }
}

/// The outcome of `test` on an event of type `t`, when it tests the type alone.
fn type_test(test: &Test, evt_type: &Key, t: &str) -> Option<bool> {
    if !test.operand.transforms.is_empty()
        || !matches!(&test.operand.access, Access::Key(k) if k == evt_type)
    {
        return None;
    }
    // The type is present, so only whether it passes counts.
    let hit = match &test.pred {
        None => return Some(true),
        Some(pred) => pred.test_text(t)?,
    };
    Some(hit != test.negate)
}

/// Folds the alternatives of an `or` that test one plain field the same way into one matcher:
/// `x = a or x = b` into a hash set, `x contains a or x contains b` into one Aho-Corasick scan.
fn merge_or(items: Vec<Node>) -> Node {
    let mut out: Vec<Node> = Vec::with_capacity(items.len());
    let mut eq: Vec<(Key, StrSet)> = Vec::new();
    let mut contains: Vec<(Key, Vec<Vec<u8>>)> = Vec::new();
    for node in items {
        if let Node::Test(t) = &node
            && !t.negate
            && t.operand.transforms.is_empty()
            && let Access::Key(k) = &t.operand.access
        {
            match &t.pred {
                Some(Pred::StrEq(v)) => {
                    match eq.iter_mut().find(|(key, _)| key == k) {
                        Some((_, set)) => set.insert(v.clone()),
                        None => {
                            eq.push((k.clone(), StrSet::from_iter([v.clone()])));
                            true
                        }
                    };
                    continue;
                }
                Some(Pred::StrIn(vs)) => {
                    match eq.iter_mut().find(|(key, _)| key == k) {
                        Some((_, set)) => set.extend(vs.iter().cloned()),
                        None => eq.push((k.clone(), vs.clone())),
                    }
                    continue;
                }
                Some(Pred::Contains(f)) => {
                    let needle = f.needle().to_vec();
                    match contains.iter_mut().find(|(key, _)| key == k) {
                        Some((_, ns)) => ns.push(needle),
                        None => contains.push((k.clone(), vec![needle])),
                    }
                    continue;
                }
                _ => {}
            }
        }
        out.push(node);
    }
    let test = |k: Key, pred: Pred| {
        Node::Test(Arc::new(Test {
            operand: Operand {
                access: Access::Key(k),
                transforms: Box::new([]),
            },
            pred: Some(pred),
            negate: false,
        }))
    };
    for (k, set) in eq {
        out.push(test(k, Pred::StrIn(set)));
    }
    for (k, mut needles) in contains {
        let pred = match needles.len() {
            1 => Pred::Contains(Finder::new(&needles.remove(0)).into_owned()),
            _ => match AhoCorasick::new(&needles) {
                Ok(ac) => Pred::ContainsAny(ac),
                Err(_) => {
                    out.extend(
                        needles
                            .iter()
                            .map(|n| test(k.clone(), Pred::Contains(Finder::new(n).into_owned()))),
                    );
                    continue;
                }
            },
        };
        out.push(test(k, pred));
    }
    if out.len() == 1 {
        out.remove(0)
    } else {
        Node::Or(out.into())
    }
}
