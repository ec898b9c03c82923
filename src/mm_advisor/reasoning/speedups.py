"""experta's hot spots removed, doing the same work: a switchable layer over experta 1.9.4.

Where experta's time went (cProfile): each fact walked through every alpha test node, every
time; every token copied at every node, through a constructor that re-checks every fact's
type; every node and every test calling the logger, even when it is off; after every change,
every rule's conflict-set node polled for news; reset() inspecting the engine for deffacts and
wiping every node's memory, used or not; each fact frozen value by value and checked for
patterns. The replacements below, `prepare` for each network and `FastEngine`'s methods do the
same work without those costs. They are on from import; `speedups(False)` restores experta as
it is published, and tests run both side by side on the same rules.
"""

from __future__ import annotations

from typing import Any, Iterable

from .compat import (
    Activation,
    Agenda,
    BusNode,
    ConflictSetNode,
    Fact,
    FactList,
    FeatureCheck,
    FeatureTesterNode,
    InitialFact,
    KnowledgeEngine,
    NoMemory,
    OrdinaryMatchNode,
    ReteMatcher,
    Token,
    TokenInfo,
    TypeCheck,
    WhereCheck,
)


def _token(cls, tag, data, context=None):
    """Token.__new__ without its assertions: every token here is made by the network itself.
    Its facts are a frozenset: with the speedups, no node changes a token once made."""
    facts = frozenset((data,)) if isinstance(data, Fact) else frozenset(data)
    return tuple.__new__(cls, (tag, facts, {} if context is None else context))


def _token_info(cls, data, context):
    return tuple.__new__(cls, (frozenset(data), frozenset(context.items())))


def _activation_hash(self):
    """Activation.__hash__ by the rule's identity: hashing the rule hashed all its patterns, and
    the activations a node keeps are all of its one rule."""
    return hash((id(self.rule), frozenset(self.facts), frozenset(self.context.items())))


_PLAIN = frozenset({str, int, float, bool, type(None)})  # values experta's freeze keeps as they are


def _fact_init(self, *args, **kwargs):
    """Fact.__init__ storing plain values directly; others are frozen, as before."""
    for key, value in (*enumerate(args), *kwargs.items()):
        if type(value) in _PLAIN:
            dict.__setitem__(self, key, value)
        else:
            self[key] = value
    self._Fact__defaults = {}


def _fact_list_declare(self, fact):
    """FactList.declare without its log line (its other steps as before)."""
    if not isinstance(fact, Fact):
        raise ValueError("The fact must descend the Fact class.")
    fact.validate()
    fact_id = frozenset(
        [fact.__class__, *((k, v) for k, v in fact.items() if not Fact.is_special(k))]
    )
    if not self.duplication and fact_id in self.reference_counter:
        return None
    fact.__factid__ = index = self.last_index
    self[index] = fact
    self.last_index += 1
    self.added.append(fact)
    self.reference_counter[fact_id] += 1
    return fact


def _bus_add(self, fact):
    _send(self, fact, Token.TagType.VALID)


def _bus_remove(self, fact):
    _send(self, fact, Token.TagType.INVALID)


# Deliveries remembered per network (some tens of MB at most); past it, the memory starts afresh.
_MEMORY_LIMIT = 100_000


def _send(bus, fact, tag) -> None:
    """BusNode.add/remove: deliver `fact` where the alpha network sends it.

    The alpha network's tests read only a fact's type and content, so where a fact goes, and
    with which bindings, is walked once per (type, content, id) and then remembered; a binding
    to the fact itself is filled in with this fact at each delivery. Facts of the bus's `fresh`
    types, whose content seldom repeats, are walked at every delivery instead."""
    data = frozenset((fact,))
    memory = bus.__dict__.get("deliveries")  # None for a network built without the speedups
    if memory is None or type(fact) in bus.fresh:
        found: list = []
        _walk(_route(bus, fact), fact, {}, found)
        for callback, context in found:
            callback(tuple.__new__(Token, (tag, data, context)))
        return
    key = (type(fact), tuple(fact.items()))  # experta froze every value: it can be a key
    plan = memory.get(key)
    if plan is None:
        found = []
        _walk(_route(bus, fact), fact, {}, found)
        plan = [
            (
                callback,
                {k: v for k, v in context.items() if v is not fact},
                tuple(k for k, v in context.items() if v is fact),
            )
            for callback, context in found
        ]
        bus.remembered += len(plan)
        if bus.remembered > _MEMORY_LIMIT:
            memory.clear()
            bus.remembered = len(plan)
        memory[key] = plan
    for callback, context, own in plan:
        if own:
            context = dict(context)
            for name in own:
                context[name] = fact
        callback(tuple.__new__(Token, (tag, data, context)))


def _walk(children, fact, context: dict, out: list) -> None:
    """Take `fact` down the alpha network as experta's feature-tester nodes do, collecting, in
    experta's order, each beta node it reaches with the bindings it carries there."""
    for child in children:
        node = child.node
        if type(node) is not FeatureTesterNode:
            out.append((child.callback, context))
            continue
        match = node.matcher(fact)
        if not match:
            continue
        bound = context
        if match is not True:  # a mapping of bindings
            bound = dict(context)
            clash = False
            for key, value in match.items():
                if isinstance(key, tuple):  # a negated condition
                    clash = key[1] in bound and bound[key[1]] == value
                else:
                    clash = bound.get(key, value) != value or (
                        (False, key) in bound and bound[(False, key)] == value
                    )
                if clash:
                    break
            if clash:
                continue
            bound.update(match)
        _walk(_route(node, fact), fact, bound, out)


def _route(node, fact) -> list:
    """The children of a bus or feature-tester node that `fact` can reach (see `_plan`)."""
    plan = node.__dict__.get("plan")
    if plan is None:
        return node.children
    kind, field, table, others = plan
    if kind == "all":
        return others
    if kind == "type":
        return table.get(type(fact), []) + others
    if field not in fact:
        return others
    try:
        return table.get(fact[field], []) + others
    except TypeError:  # a value that cannot be a key: try every child
        return node.children


def _plan(node) -> tuple:
    """Children grouped by the fact type or the literal field value their test needs, so a fact
    is tested only by the children it can pass; the rest (`others`) test every fact."""
    by_type: dict = {}
    by_field: dict = {}
    for child in node.children:
        check = getattr(child.node, "matcher", None)
        if not isinstance(child.node, FeatureTesterNode):
            continue
        if isinstance(check, TypeCheck):
            by_type.setdefault(check.fact_type, []).append(child)
        elif (
            isinstance(check, FeatureCheck)
            and check.check.__name__ == "equal_literal"
            and check.expected.__bind__ is None
            and isinstance(check.what, str)
            and "__" not in check.what
            and isinstance(check.expected.value, (str, int, bool, type(None)))
        ):
            by_field.setdefault(check.what, []).append((check.expected.value, child))
    if len(by_type) > 1:
        kind, field, table = "type", None, by_type
        chosen = {id(c) for cs in by_type.values() for c in cs}
    elif by_field:
        field, pairs = max(by_field.items(), key=lambda item: len(item[1]))
        if len(pairs) < 2:
            return "all", None, {}, list(node.children)
        kind, table = "field", {}
        for value, child in pairs:
            table.setdefault(value, []).append(child)
        chosen = {id(c) for _, c in pairs}
    else:
        return "all", None, {}, list(node.children)
    others = [c for c in node.children if id(c) not in chosen]
    return kind, field, table, others


def _type_check(self, fact):
    return type(fact) == self.fact_type  # noqa: E721 (experta's own test: the exact type)


def _feature_check(self, data, is_fact=True):
    """FeatureCheck.__call__ without logging, for a field index or a plain field name (the
    others as before)."""
    what = self.what
    if not is_fact:
        return self.check(data, self.expected)
    if type(what) is int or (type(what) is str and "__" not in what):
        try:
            record = data[what]
        except (IndexError, KeyError, TypeError):
            return False
        return self.check(record, self.expected)
    return _ORIGINAL[(FeatureCheck, "__call__")](self, data, is_fact)


def _where_check(self, context):
    """WhereCheck.__call__ (a TEST node's test) without logging."""
    return self.test(**{name: context.get(name) for name in self.parameters})


def _join(node, token, branch, matching, is_left):
    """OrdinaryMatchNode's activation, without logging, remembering each token's facts and
    context as they are (experta froze the context into a set of items for every token, then
    thawed it into a dict at every comparison; its test only reads it, and no node changes a
    token once made: see prepare)."""
    context, data = token.context, token.data
    if token.tag is Token.TagType.VALID:
        if not branch and not matching and "used" in node.__dict__:  # see prepare
            node.used.append(node)
        branch.append((data, context))
    else:
        for i, (known, known_context) in enumerate(branch):
            if known == data and known_context == context:
                del branch[i]
                break
    named = None
    for other_data, other_context in matching:
        match = (
            node.matcher(context, other_context)
            if is_left
            else node.matcher(other_context, context)
        )
        if not match:
            continue
        if named is None:
            named = {k: v for k, v in context.items() if isinstance(k, str)}
        merged = dict(named)
        for key, value in other_context.items():
            if not isinstance(key, tuple):  # negated values are not needed any further
                merged[key] = value
        joined = tuple.__new__(Token, (token.tag, data | other_data, merged))
        for child in node.children:
            child.callback(joined)


def _join_left(self, token):
    _join(self, token, self.left_memory, self.right_memory, True)


def _join_right(self, token):
    _join(self, token, self.right_memory, self.left_memory, False)


def _conflict_set_activate(self, token):
    """ConflictSetNode._activate, also telling its matcher that it has news (see prepare)."""
    news = self.__dict__.get("news")
    if news is None:  # a network built without the speedups
        return _ORIGINAL[(ConflictSetNode, "_activate")](self, token)
    if not self.memory:
        self.used.append(self)
    _ORIGINAL[(ConflictSetNode, "_activate")](self, token)
    news.add(self)
    return None


def _changes(self, adding=None, deleting=None):
    """ReteMatcher.changes, asking only the conflict-set nodes that have news."""
    order = getattr(self, "news_order", None)
    if order is None:
        return _ORIGINAL[(ReteMatcher, "changes")](self, adding, deleting)
    for fact in deleting or ():
        self.root_node.remove(fact)
    for fact in adding or ():
        self.root_node.add(fact)
    added: list = []
    removed: list = []
    for node in sorted(self.news, key=order.__getitem__):
        news_added, news_removed = node.get_activations()
        added.extend(news_added)
        removed.extend(news_removed)
    self.news.clear()
    return added, removed


def _matcher_reset(self):
    """ReteMatcher.reset: each node that remembers something wiped once (see prepare), not
    every node once per path to it."""
    if "used" not in self.__dict__:  # a network built without the speedups
        return _ORIGINAL[(ReteMatcher, "reset")](self)
    for node in self.used:
        node._reset()
    self.used.clear()
    for node in self.with_memory:
        node._reset()
    return None


def prepare(matcher, fresh: Iterable[type] = ()) -> None:
    """Make a network built by experta faster, doing the same work.

    The bus and every feature-tester node get their lookup table (see _plan), the bus its
    memory of where facts go, but for facts of the `fresh` types (see _send). Each
    conflict-set node reports its news to the matcher's `news` (see _changes), and each join or
    conflict-set node that starts to remember a token to its `used` (see _matcher_reset); nodes
    of other kinds with a memory are reset every time. And each beta node's input calls the node's own activation directly: experta's
    `activate` copies every token first, because its feature-tester nodes add bindings to a
    token in place; here `_walk` makes a new context for new bindings instead, and no other
    node changes a token once made."""
    matcher.news, matcher.used, matcher.with_memory = set(), [], []
    matcher.news_order = {n: i for i, n in enumerate(matcher._get_conflict_set_nodes())}
    pending, seen = [matcher.root_node], set()
    while pending:
        node = pending.pop(0)
        if id(node) in seen:
            continue
        seen.add(id(node))
        node.children[:] = [_direct(child) for child in node.children]
        if isinstance(node, (BusNode, FeatureTesterNode)):
            node.plan = _plan(node)
        elif isinstance(node, (OrdinaryMatchNode, ConflictSetNode)):
            node.used = matcher.used
            node.news = matcher.news
        elif not isinstance(node, NoMemory):
            matcher.with_memory.append(node)
        pending.extend(child.node for child in node.children)
    matcher.root_node.deliveries, matcher.root_node.remembered = {}, 0
    matcher.root_node.fresh = frozenset(fresh)


def _direct(child):
    """A beta node's input, calling its `_activate*` without experta's copy of the token."""
    name = getattr(child.callback, "__name__", None)
    if isinstance(child.node, FeatureTesterNode) or name not in _DIRECT:
        return child
    return child._replace(callback=getattr(child.node, _DIRECT[name]))


_DIRECT = {
    "activate": "_activate",
    "activate_left": "_activate_left",
    "activate_right": "_activate_right",
}


_PATCHES = {
    (Token, "__new__"): staticmethod(_token),
    (TokenInfo, "__new__"): staticmethod(_token_info),
    (Activation, "__hash__"): _activation_hash,
    (Fact, "__init__"): _fact_init,
    (FactList, "declare"): _fact_list_declare,
    (BusNode, "add"): _bus_add,
    (BusNode, "remove"): _bus_remove,
    (TypeCheck, "__call__"): _type_check,
    (FeatureCheck, "__call__"): _feature_check,
    (WhereCheck, "__call__"): _where_check,
    (OrdinaryMatchNode, "_activate_left"): _join_left,
    (OrdinaryMatchNode, "_activate_right"): _join_right,
    (ConflictSetNode, "_activate"): _conflict_set_activate,
    (ReteMatcher, "changes"): _changes,
    (ReteMatcher, "reset"): _matcher_reset,
}
_ORIGINAL = {(owner, name): owner.__dict__[name] for owner, name in _PATCHES}
_FAST = {"on": False}


def speedups(on: bool = True) -> None:
    """Use the faster replacements (the default), or experta exactly as published."""
    for (owner, name), replacement in _PATCHES.items():
        setattr(owner, name, replacement if on else _ORIGINAL[(owner, name)])
    _FAST["on"] = on


speedups(True)


def enabled() -> bool:
    """Whether the speedups are on."""
    return _FAST["on"]


class FastEngine(KnowledgeEngine):
    """KnowledgeEngine with cheaper reset, declare and run while the speedups are on."""

    def reset(self, **kwargs: Any) -> None:
        """KnowledgeEngine.reset, without inspecting the engine for deffacts: its only one
        declares the initial fact."""
        if not _FAST["on"]:
            return super().reset(**kwargs)
        self.agenda = Agenda()
        self.facts = FactList()
        self.matcher.reset()
        self._KnowledgeEngine__declare(InitialFact())
        self.running = False

    def declare(self, *facts: Fact) -> Fact | None:
        """KnowledgeEngine.declare, without checking each fact for patterns and nested keys:
        every fact here is made by this module, from typed values."""
        if not _FAST["on"]:
            return super().declare(*facts)
        last = None
        for fact in facts:
            last = self.facts.declare(fact)
        if not self.running:
            self.strategy.update_agenda(self.agenda, *self.get_activations())
        return last

    def run(self, steps: float = float("inf")) -> None:
        """KnowledgeEngine.run, without formatting a log line for every firing."""
        if not _FAST["on"]:
            return super().run(steps)
        self.running = True
        while steps > 0 and self.running:
            added, removed = self.get_activations()
            self.strategy.update_agenda(self.agenda, added, removed)
            activation = self.agenda.get_next()
            if activation is None:
                break
            steps -= 1
            context = {k: v for k, v in activation.context.items() if not k.startswith("__")}
            activation.rule(self, **context)
        self.running = False
