//! Who calls whom, where async starts, where the chain breaks.
//!
//! Roots are the bodies that run as async code: every `async fn`, `async`
//! block and `async` closure of the crates checked. From each call a root
//! makes, the checker follows synchronous workspace functions transitively
//! (breadth first, so each chain reported is a shortest one) until it meets
//! something that blocks: a function marked `#[async_unsafe]` (in the
//! workspace or a dependency), a built-in blocking API, or a path on the
//! user's `blocking` list. It does not go into an `async fn` (calling one only
//! builds a future, whose body is a root of its own), into a marked function
//! (that is the finding), into an item or call under `// async-unsafe: allow`,
//! into a path on the user's `allow` list, nor into the closures handed to a
//! chain breaker (`sync_to_async`, `spawn_blocking`, `block_in_place`, thread
//! and rayon spawns; see `parse.rs`).
//!
//! A finding is reported at the call in the async body (where the fix goes),
//! with the chain from the root to the blocking callee. It is `possible` when
//! one of the chain's method calls could mean several impls, else `certain`.
//! The blocking callees reachable from each synchronous function are computed
//! once and reused by every root that calls it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use crate::known::{Lists, Reason};
use crate::parse::{BodyKind, Call, Callee, Host};
use crate::resolve::{FnId, Program, Resolved, Scope, Target, short_name};

/// One blocking call in async context.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Finding {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// The blocking item's full path.
    pub(crate) callee: String,
    /// From the async root to the callee.
    pub(crate) chain: Vec<String>,
    pub(crate) certain: bool,
    pub(crate) reason: Reason,
    /// Where the call expression ends (line, column just past it).
    pub(crate) end_line: usize,
    pub(crate) end_column: usize,
    /// In test code: a test function, a `#[cfg(test)]` module, a `tests/`
    /// or `benches/` target.
    pub(crate) test: bool,
}

/// Does a closure's host run it where it is written?
enum Runs {
    Yes,
    Maybe,
    No,
}

#[derive(Clone)]
enum Step {
    Block {
        callee: String,
        short: String,
        reason: Reason,
    },
    Follow(FnId),
    Skip,
}

#[derive(Clone)]
struct Reach {
    callee: String,
    short: String,
    reason: Reason,
    /// Labels of the synchronous functions from the first one on.
    chain: Vec<String>,
    certain: bool,
}

struct Walker<'p, 'a> {
    program: &'p Program<'a>,
    lists: &'p Lists,
    memo: HashMap<FnId, Rc<Vec<Reach>>>,
    calls_memo: HashMap<FnId, Rc<Vec<Resolved>>>,
    steps_fn: HashMap<FnId, Step>,
    steps_ext: HashMap<String, Step>,
}

impl<'p, 'a> Walker<'p, 'a> {
    fn new(program: &'p Program<'a>, lists: &'p Lists) -> Self {
        Walker {
            program,
            lists,
            memo: HashMap::new(),
            calls_memo: HashMap::new(),
            steps_fn: HashMap::new(),
            steps_ext: HashMap::new(),
        }
    }

    /// What to do with a call's target, decided once per target.
    fn step(&mut self, target: &Target) -> Step {
        let cached = match target {
            Target::Fn(id) => self.steps_fn.get(id),
            Target::Ext(path) => self.steps_ext.get(path),
        };
        if let Some(step) = cached {
            return step.clone();
        }
        let step = self.decide(target);
        match target {
            Target::Fn(id) => self.steps_fn.insert(*id, step.clone()),
            Target::Ext(path) => self.steps_ext.insert(path.clone(), step.clone()),
        };
        step
    }

    fn decide(&self, target: &Target) -> Step {
        match target {
            Target::Fn(id) => {
                let f = self.program.func(*id);
                let path = self.program.fn_path(*id);
                if self.lists.allowed(&path) {
                    return Step::Skip;
                }
                let reason = if f.marked {
                    Some(Reason::Marked)
                } else {
                    self.lists.blocking(&path)
                };
                if let Some(reason) = reason {
                    return Step::Block {
                        short: self.program.fn_short(*id),
                        callee: path,
                        reason,
                    };
                }
                let checked = self.program.crates[id.krate].checked;
                if f.is_async || f.allowed || !f.has_body || !checked {
                    Step::Skip
                } else {
                    Step::Follow(*id)
                }
            }
            Target::Ext(path) => {
                if self.lists.allowed(path) {
                    return Step::Skip;
                }
                match self.lists.blocking(path) {
                    Some(reason) => Step::Block {
                        callee: path.clone(),
                        short: path.clone(),
                        reason,
                    },
                    None => Step::Skip,
                }
            }
        }
    }

    fn label(&self, id: FnId) -> String {
        let f = self.program.func(id);
        format!(
            "{} ({}:{})",
            self.program.fn_short(id),
            self.program.file_of(id),
            f.line
        )
    }

    /// What a synchronous function's own body calls, resolved once.
    fn calls(&mut self, id: FnId) -> Rc<Vec<Resolved>> {
        if let Some(c) = self.calls_memo.get(&id) {
            return Rc::clone(c);
        }
        let f = self.program.func(id);
        let scope = Scope {
            krate: id.krate,
            module: id.module,
            func: Some(f),
            at: usize::MAX,
        };
        let calls: Vec<Resolved> = f.bodies[0]
            .calls
            .iter()
            .filter(|c| !c.allowed)
            .flat_map(|c| self.call_targets(scope, c))
            .collect();
        let calls = Rc::new(calls);
        self.calls_memo.insert(id, Rc::clone(&calls));
        calls
    }

    /// A call's targets, less certain (or none) when a closure's host may
    /// not run it here.
    fn call_targets(&self, scope: Scope, call: &Call) -> Vec<Resolved> {
        let here = Scope {
            at: call.line,
            ..scope
        };
        let sure = match self.runs_here(here, &call.host) {
            Runs::Yes => true,
            Runs::Maybe => false,
            Runs::No => return Vec::new(),
        };
        let mut targets = self.program.targets(scope, call);
        for t in &mut targets {
            t.certain &= sure;
        }
        targets
    }

    /// A function that runs what it is given off the event loop: configured,
    /// or handing its parameter to `spawn_blocking`-like calls, or to another
    /// such function (followed a few levels, for wrappers of wrappers).
    fn is_breaker(&self, id: FnId, depth: usize) -> bool {
        let f = self.program.func(id);
        if f.breaks_param || self.lists.breaker(&self.program.fn_path(id)) {
            return true;
        }
        if depth > 4 || f.param_hosts.is_empty() {
            return false;
        }
        let scope = Scope {
            krate: id.krate,
            module: id.module,
            func: Some(f),
            at: usize::MAX,
        };
        f.param_hosts.iter().any(|callee| {
            self.program
                .callee_targets(scope, callee)
                .iter()
                .any(|t| match &t.target {
                    Target::Fn(next) => *next != id && self.is_breaker(*next, depth + 1),
                    Target::Ext(path) => self.lists.breaker(path),
                })
        })
    }

    /// Whether the closure a call is written in runs where it is written.
    fn runs_here(&self, scope: Scope, host: &Host) -> Runs {
        let callee = match host {
            Host::Body | Host::Adapter => return Runs::Yes,
            Host::Unknown => return Runs::Maybe,
            Host::Call(callee) => callee,
        };
        if let Callee::Method { name, .. } = &**callee {
            // `*::name` breakers match a method whatever its receiver.
            if self.lists.breaker(&format!("<any>::{name}")) {
                return Runs::No;
            }
        }
        let targets = self.program.callee_targets(scope, callee);
        let mut all_call_it = !targets.is_empty();
        for t in &targets {
            match &t.target {
                Target::Fn(id) => {
                    if self.is_breaker(*id, 0) {
                        return Runs::No;
                    }
                    all_call_it &= self.program.func(*id).calls_param && t.certain;
                }
                Target::Ext(path) => {
                    if self.lists.breaker(path) {
                        return Runs::No;
                    }
                    all_call_it &= self.lists.caller(path);
                }
            }
        }
        if all_call_it { Runs::Yes } else { Runs::Maybe }
    }

    /// Every blocking callee reachable from the synchronous function `start`.
    fn reach(&mut self, start: FnId) -> Rc<Vec<Reach>> {
        if let Some(r) = self.memo.get(&start) {
            return Rc::clone(r);
        }
        let mut out = Vec::new();
        // A callee, or a function, first reached on a possible path is
        // reached again on a certain one: certainty is kept where it exists.
        let mut seen_callees: HashMap<String, usize> = HashMap::new();
        let mut visited: HashMap<FnId, bool> = HashMap::from([(start, true)]);
        let mut queue = VecDeque::from([(start, vec![self.label(start)], true)]);
        while let Some((id, chain, certain)) = queue.pop_front() {
            for r in self.calls(id).iter() {
                match self.step(&r.target) {
                    Step::Block {
                        callee,
                        short,
                        reason,
                    } => {
                        let sure = certain && r.certain;
                        let reach = Reach {
                            callee,
                            short,
                            reason,
                            chain: chain.clone(),
                            certain: sure,
                        };
                        match seen_callees.get(&reach.callee) {
                            None => {
                                seen_callees.insert(reach.callee.clone(), out.len());
                                out.push(reach);
                            }
                            Some(&i) if sure && !out[i].certain => out[i] = reach,
                            Some(_) => {}
                        }
                    }
                    Step::Follow(next) => {
                        let sure = certain && r.certain;
                        let again = match visited.get(&next) {
                            None => true,
                            Some(&was) => sure && !was,
                        };
                        if again {
                            visited.insert(next, sure);
                            let mut c = chain.clone();
                            c.push(self.label(next));
                            queue.push_back((next, c, sure));
                        }
                    }
                    Step::Skip => {}
                }
            }
        }
        let out = Rc::new(out);
        self.memo.insert(start, Rc::clone(&out));
        out
    }
}

/// Every blocking call reachable from async code in the checked crates,
/// sorted by place.
pub(crate) fn find(program: &Program, lists: &Lists) -> Vec<Finding> {
    let mut walker = Walker::new(program, lists);
    let mut findings = Vec::new();
    for (k, c) in program.crates.iter().enumerate() {
        if !c.checked {
            continue;
        }
        let gates = crate::cfg::gates(&c.modules, &c.features);
        for (m, module) in c.modules.iter().enumerate() {
            let file = &c.files[module.file];
            for f in &module.fns {
                if f.allowed {
                    continue;
                }
                let test = c.test || gates[m].test || f.test;
                let scope = Scope {
                    krate: k,
                    module: m,
                    func: Some(f),
                    at: usize::MAX,
                };
                for body in &f.bodies {
                    let root = match body.kind {
                        BodyKind::Fn if f.is_async && f.has_body => {
                            format!("async fn {} ({file}:{})", short_name(f), f.line)
                        }
                        BodyKind::Fn => continue,
                        BodyKind::AsyncBlock => format!("async block ({file}:{})", body.line),
                        BodyKind::AsyncClosure => format!("async closure ({file}:{})", body.line),
                    };
                    for call in body.calls.iter().filter(|c| !c.allowed) {
                        for r in walker.call_targets(scope, call) {
                            let mut push = |callee: String, chain: Vec<String>, certain, reason| {
                                findings.push(Finding {
                                    file: file.clone(),
                                    line: call.line,
                                    column: call.column,
                                    callee,
                                    chain,
                                    certain,
                                    reason,
                                    end_line: call.end_line,
                                    end_column: call.end_column,
                                    test,
                                })
                            };
                            match walker.step(&r.target) {
                                Step::Block {
                                    callee,
                                    short,
                                    reason,
                                } => push(callee, vec![root.clone(), short], r.certain, reason),
                                Step::Follow(id) => {
                                    for reach in walker.reach(id).iter() {
                                        let mut chain = vec![root.clone()];
                                        chain.extend(reach.chain.iter().cloned());
                                        chain.push(reach.short.clone());
                                        push(
                                            reach.callee.clone(),
                                            chain,
                                            r.certain && reach.certain,
                                            reach.reason,
                                        );
                                    }
                                }
                                Step::Skip => {}
                            }
                        }
                    }
                }
            }
        }
    }
    // Of the findings of one call and callee, keep a certain one, then the
    // shortest chain.
    findings.sort_by(|a, b| {
        (
            &a.file,
            a.line,
            a.column,
            &a.callee,
            !a.certain,
            a.chain.len(),
            &a.chain,
        )
            .cmp(&(
                &b.file,
                b.line,
                b.column,
                &b.callee,
                !b.certain,
                b.chain.len(),
                &b.chain,
            ))
    });
    findings.dedup_by(|a, b| {
        (&a.file, a.line, a.column, &a.callee) == (&b.file, b.line, b.column, &b.callee)
    });
    findings
}

/// The `// async-unsafe: allow` comments that silence something, as (file,
/// line): a comment over a call that blocks (itself, or through the
/// synchronous functions it calls), or over an item one of whose calls
/// does. Whether the code is reached from async code does not matter: the
/// comment is stale when the code it excuses no longer blocks.
pub(crate) fn used_allows(program: &Program, lists: &Lists) -> HashSet<(String, usize)> {
    let mut walker = Walker::new(program, lists);
    let mut used = HashSet::new();
    for (k, c) in program.crates.iter().enumerate() {
        if !c.checked {
            continue;
        }
        for (m, module) in c.modules.iter().enumerate() {
            let file = &c.files[module.file];
            for f in &module.fns {
                let scope = Scope {
                    krate: k,
                    module: m,
                    func: Some(f),
                    at: usize::MAX,
                };
                let mut blocks = |call: &crate::parse::Call| {
                    program
                        .targets(scope, call)
                        .iter()
                        .any(|r| match walker.step(&r.target) {
                            Step::Block { .. } => true,
                            Step::Follow(id) => !walker.reach(id).is_empty(),
                            Step::Skip => false,
                        })
                };
                let mut item_blocks = false;
                for call in f.bodies.iter().flat_map(|b| &b.calls) {
                    match call.allow_line {
                        Some(line) => {
                            if blocks(call) {
                                used.insert((file.clone(), line));
                            }
                        }
                        None => item_blocks = item_blocks || (f.allowed && blocks(call)),
                    }
                }
                if let (Some(line), true) = (f.allow_line, item_blocks) {
                    used.insert((file.clone(), line));
                }
            }
        }
    }
    used
}
