"""``diff``: every change between two versions of a contract, classified.

Each :class:`Change` is one difference (a rule of :mod:`hubgen.compat.rules`)
with a :class:`Verdict` for each :class:`Scenario` and :class:`Protocol`:

* ``old-clients``: clients built from the old contract against a server
  built from the new one (the server was deployed first);
* ``old-server``: clients built from the new contract against a server built
  from the old one (the clients were deployed first, or the server rolled back).

Data flows one way at each position of a contract: hub-method arguments and
client results from clients to the server, hub-method results, stream items
and client-method arguments from the server to clients. In each scenario one
version sends and the other receives, and a change is safe when what the
sender's version writes is accepted by the receiver's version
(:class:`hubgen.compat.fit.Fit`). The senders counted are the generated
peers: a generated client sends every argument, a server writes every field
of a model, and a client may leave out a model field that has a default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import partial

from hubgen import ir
from hubgen.compat.fit import Fit, Protocol, Role, describe, undeclared
from hubgen.compat.rules import RULES

__all__ = ["Change", "Flow", "Scenario", "Verdict", "diff"]


class Scenario(StrEnum):
    """Which version runs where."""

    OLD_CLIENTS = "old-clients"
    OLD_SERVER = "old-server"

    @property
    def label(self) -> str:
        if self is Scenario.OLD_CLIENTS:
            return "old clients → new server"
        return "new clients → old server"


class Flow(Enum):
    """Which way data travels at a position."""

    TO_SERVER = "to the server"
    TO_CLIENT = "to clients"

    @property
    def role(self) -> Role:
        return Role.CLIENT if self is Flow.TO_SERVER else Role.SERVER


def _sender_is_old(scenario: Scenario, flow: Flow) -> bool:
    """Old clients send to the server in ``old-clients``; the old server
    sends to clients in ``old-server``."""
    return (scenario is Scenario.OLD_CLIENTS) == (flow is Flow.TO_SERVER)


@dataclass(frozen=True)
class Verdict:
    breaking: bool
    why: str


@dataclass(frozen=True)
class Change:
    """One difference between the versions and its verdicts."""

    rule: str
    #: Where: ``ChatHub.send``, ``ChatHub.send(text)``, ``ChatMessage.sent_at``.
    subject: str
    #: What changed, one line.
    message: str
    verdicts: Mapping[Scenario, Mapping[Protocol, Verdict]]

    def __post_init__(self) -> None:
        assert self.rule in RULES, self.rule

    def breaking(
        self, scenarios: Sequence[Scenario] = tuple(Scenario), protocols: Sequence[Protocol] = ()
    ) -> bool:
        """Breaking in any of ``scenarios`` over any of ``protocols`` (default all)."""
        chosen = protocols or tuple(Protocol)
        return any(self.verdicts[s][p].breaking for s in scenarios for p in chosen)


def _both(verdict: Verdict) -> dict[Protocol, Verdict]:
    return dict.fromkeys(Protocol, verdict)


def _fixed(
    old_clients: tuple[bool, str], old_server: tuple[bool, str]
) -> dict[Scenario, dict[Protocol, Verdict]]:
    """Verdicts that do not depend on the protocol."""
    return {
        Scenario.OLD_CLIENTS: _both(Verdict(*old_clients)),
        Scenario.OLD_SERVER: _both(Verdict(*old_server)),
    }


SAFE = False
BREAKING = True


# --------------------------------------------------------------------------- flows


def _positions(contract: ir.Contract) -> Iterator[tuple[ir.TypeRef, Flow]]:
    """Every type at a top-level position of ``contract``, with its flow."""
    for hub in contract.hubs:
        for method in hub.methods:
            for param in method.parameters:
                yield param.type, Flow.TO_SERVER
            yield method.returns, Flow.TO_CLIENT
        for method in hub.client.methods:
            for param in method.parameters:
                yield param.type, Flow.TO_CLIENT
            yield method.returns, Flow.TO_SERVER


def _flows(contract: ir.Contract) -> dict[str, set[Flow]]:
    """The flows of each model and enum (by name) of ``contract``, through
    the models that hold them too."""
    models = {m.name: m for m in contract.models}
    found: dict[str, set[Flow]] = {}

    def visit(ref: ir.TypeRef, flow: Flow) -> None:
        for node in ir.walk(ref):
            if isinstance(node, ir.EnumRef):
                found.setdefault(node.name, set()).add(flow)
            elif isinstance(node, ir.ModelRef):
                seen = found.setdefault(node.name, set())
                if flow in seen:
                    continue
                seen.add(flow)
                decl = models.get(node.name)
                for model_field in decl.fields if decl is not None else ():
                    visit(model_field.type, flow)

    for ref, flow in _positions(contract):
        visit(ref, flow)
    return found


# --------------------------------------------------------------------------- the comparison


@dataclass
class _Differ:
    old: ir.Contract
    new: ir.Contract
    changes: list[Change] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._fits: dict[tuple[bool, Protocol, Role], Fit] = {}

    def fit(self, sender_is_old: bool, protocol: Protocol, role: Role) -> Fit:
        key = (sender_is_old, protocol, role)
        if key not in self._fits:
            sender, receiver = (self.old, self.new) if sender_is_old else (self.new, self.old)
            self._fits[key] = Fit(sender, receiver, protocol, role)
        return self._fits[key]

    def add(
        self,
        rule: str,
        subject: str,
        message: str,
        verdicts: Mapping[Scenario, Mapping[Protocol, Verdict]],
    ) -> None:
        self.changes.append(Change(rule, subject, message, verdicts))

    # -- type changes ------------------------------------------------------------------

    def typed(
        self, flow: Flow, old: ir.TypeRef, new: ir.TypeRef
    ) -> dict[Scenario, dict[Protocol, Verdict]]:
        """Verdicts for a type that changed from ``old`` to ``new`` at a
        position where data flows ``flow``."""
        verdicts: dict[Scenario, dict[Protocol, Verdict]] = {}
        for scenario in Scenario:
            sender_is_old = _sender_is_old(scenario, flow)
            sent, taken = (old, new) if sender_is_old else (new, old)
            verdicts[scenario] = {}
            for protocol in Protocol:
                why = self.fit(sender_is_old, protocol, flow.role).check(sent, taken)
                if why is None:
                    verdicts[scenario][protocol] = Verdict(
                        SAFE, f"every {describe(sent)} value fits {describe(taken)}"
                    )
                else:
                    verdicts[scenario][protocol] = Verdict(BREAKING, why)
        return verdicts

    # -- hubs --------------------------------------------------------------------------

    def run(self) -> list[Change]:
        old_hubs = {hub.name: hub for hub in self.old.hubs}
        new_hubs = {hub.name: hub for hub in self.new.hubs}
        for name in old_hubs:
            if name not in new_hubs:
                self.add(
                    "hub-removed",
                    name,
                    f"hub {name} is gone",
                    _fixed(
                        (BREAKING, f"old clients connect to {name}, which the new server lacks"),
                        (SAFE, f"new clients no longer use {name}"),
                    ),
                )
        for name, hub in new_hubs.items():
            if name not in old_hubs:
                self.add(
                    "hub-added",
                    name,
                    f"hub {name} is new",
                    _fixed(
                        (SAFE, f"old clients do not use {name}"),
                        (BREAKING, f"new clients connect to {name}, which the old server lacks"),
                    ),
                )
            else:
                self.hub(old_hubs[name], hub)
        self.declarations()
        return self.changes

    def hub(self, old: ir.HubDecl, new: ir.HubDecl) -> None:
        for old_method, new_method in self.pair_methods(old.name, old.methods, new.methods, False):
            self.method(old.name, old_method, new_method)
        for old_method, new_method in self.pair_methods(
            new.client.name, old.client.methods, new.client.methods, True
        ):
            self.client_method(new.client.name, old_method, new_method)

    def pair_methods(
        self,
        owner: str,
        old: Sequence[ir.MethodDecl],
        new: Sequence[ir.MethodDecl],
        client: bool,
    ) -> Iterator[tuple[ir.MethodDecl, ir.MethodDecl]]:
        """Methods matched by wire name ignoring case (as SignalR matches
        them on both ends), then by Python name (a changed wire name); the
        rest are added or removed."""
        new_by_wire = {m.wire_name.lower(): m for m in new}
        old_left: list[ir.MethodDecl] = []
        matched: set[str] = set()
        for method in old:
            other = new_by_wire.get(method.wire_name.lower())
            if other is None:
                old_left.append(method)
                continue
            matched.add(other.name)
            if other.wire_name != method.wire_name:
                self.add(
                    "method-wire-case-changed",
                    f"{owner}.{other.name}",
                    f"wire name {method.wire_name!r} became {other.wire_name!r}",
                    _fixed(
                        (SAFE, "SignalR matches method names ignoring case"),
                        (SAFE, "SignalR matches method names ignoring case"),
                    ),
                )
            yield method, other
        new_left = {m.name: m for m in new if m.name not in matched}
        for method in old_left:
            other = new_left.pop(method.name, None)
            if other is None:
                self.removed(owner, method, client)
                continue
            receiver = "clients'" if client else "the server's"
            self.add(
                "method-renamed",
                f"{owner}.{method.name}",
                f"wire name {method.wire_name!r} became {other.wire_name!r}",
                _fixed(
                    (
                        BREAKING,
                        f"calls to {other.wire_name!r} reach no handler of old {receiver}"
                        if client
                        else f"old clients call {method.wire_name!r}, which the new server lacks",
                    ),
                    (
                        BREAKING,
                        f"calls to {method.wire_name!r} reach no handler of new clients"
                        if client
                        else f"new clients call {other.wire_name!r}, which the old server lacks",
                    ),
                ),
            )
        for method in new_left.values():
            self.added(owner, method, client)

    def removed(self, owner: str, method: ir.MethodDecl, client: bool) -> None:
        subject = f"{owner}.{method.name}"
        if not client:
            self.add(
                "method-removed",
                subject,
                f"hub method {method.wire_name!r} is gone",
                _fixed(
                    (
                        BREAKING,
                        f"old clients may call {method.wire_name!r}; the new server answers "
                        "'Method does not exist.'",
                    ),
                    (SAFE, "new clients do not call it"),
                ),
            )
            return
        awaited = _has_result(method)
        self.add(
            "client-method-removed",
            subject,
            f"client method {method.wire_name!r} is gone",
            _fixed(
                (SAFE, "the new server does not call it"),
                (
                    BREAKING,
                    "the old server awaits its result, which new clients cannot give",
                )
                if awaited
                else (
                    SAFE,
                    "the old server still calls it; new clients ignore the call, logging "
                    "'No client method with the name ... found.'",
                ),
            ),
        )

    def added(self, owner: str, method: ir.MethodDecl, client: bool) -> None:
        subject = f"{owner}.{method.name}"
        if not client:
            self.add(
                "method-added",
                subject,
                f"hub method {method.wire_name!r} is new",
                _fixed(
                    (SAFE, "old clients do not call it"),
                    (
                        BREAKING,
                        f"new clients may call {method.wire_name!r}; the old server answers "
                        "'Method does not exist.'",
                    ),
                ),
            )
            return
        awaited = _has_result(method)
        self.add(
            "client-method-added",
            subject,
            f"client method {method.wire_name!r} is new",
            _fixed(
                (
                    BREAKING,
                    "the new server awaits its result, which old clients cannot give",
                )
                if awaited
                else (
                    SAFE,
                    "old clients ignore the call, logging 'No client method with the name "
                    "... found.'",
                ),
                (SAFE, "the old server does not call it"),
            ),
        )

    # -- methods -----------------------------------------------------------------------

    def method(self, hub: str, old: ir.MethodDecl, new: ir.MethodDecl) -> None:
        subject = f"{hub}.{new.name}"
        if old.kind != new.kind:
            self.add(
                "method-kind-changed",
                subject,
                f"{_kind_word(old.kind)} became {_kind_word(new.kind)}",
                _fixed(
                    (
                        BREAKING,
                        f"old clients start {_invocation(old.kind)}; the new server "
                        f"refuses it for {_kind_word(new.kind)}",
                    ),
                    (
                        BREAKING,
                        f"new clients start {_invocation(new.kind)}; the old server "
                        f"refuses it for {_kind_word(old.kind)}",
                    ),
                ),
            )
        self.parameters(subject, old, new, Flow.TO_SERVER)
        self.streams(subject, old, new)
        if old.kind == new.kind and _differs(old.returns, new.returns):
            what = "stream item" if new.kind is ir.MethodKind.STREAM else "result"
            self.add(
                "result-type-changed",
                subject,
                f"{what} {describe(old.returns)} became {describe(new.returns)}",
                self.typed(Flow.TO_CLIENT, old.returns, new.returns),
            )

    def client_method(self, client: str, old: ir.MethodDecl, new: ir.MethodDecl) -> None:
        subject = f"{client}.{new.name}"
        self.parameters(subject, old, new, Flow.TO_CLIENT)
        had, has = _has_result(old), _has_result(new)
        if not had and has:
            self.add(
                "client-result-added",
                subject,
                f"returns {describe(new.returns)} now (a client result)",
                _fixed(
                    (BREAKING, "the new server awaits a result old clients do not give"),
                    (SAFE, "the old server does not ask for a result; new clients' is dropped"),
                ),
            )
        elif had and not has:
            self.add(
                "client-result-removed",
                subject,
                f"returned {describe(old.returns)}, returns nothing now",
                _fixed(
                    (SAFE, "the new server does not ask for a result; old clients' is dropped"),
                    (BREAKING, "the old server awaits a result new clients do not give"),
                ),
            )
        elif had and _differs(old.returns, new.returns):
            self.add(
                "result-type-changed",
                subject,
                f"client result {describe(old.returns)} became {describe(new.returns)}",
                self.typed(Flow.TO_SERVER, old.returns, new.returns),
            )

    def parameters(self, subject: str, old: ir.MethodDecl, new: ir.MethodDecl, flow: Flow) -> None:
        """Value parameters, which travel as the invocation's positional
        ``arguments``; a generated sender sends every one of them, and the
        receiver takes from its required ones to all of them."""
        olds = [p for p in old.parameters if not p.stream]
        news = [p for p in new.parameters if not p.stream]
        old_at = {p.name: i for i, p in enumerate(olds)}
        new_at = {p.name: i for i, p in enumerate(news)}
        moved = [(name, i, new_at[name]) for name, i in old_at.items() if new_at.get(name, i) != i]
        if moved:
            spelled = ", ".join(f"{name!r} from {i + 1} to {j + 1}" for name, i, j in moved)
            name, i, j = moved[0]
            self.add(
                "parameter-moved",
                subject,
                f"parameter positions changed: {spelled}",
                self.by_sender(
                    flow,
                    old_sends=(BREAKING, _lands(_Parties(flow, True), name, i, news)),
                    new_sends=(BREAKING, _lands(_Parties(flow, False), name, j, olds)),
                ),
            )
        for index, param in enumerate(olds):
            if param.name in new_at:
                self.parameter(subject, param, news[new_at[param.name]], flow)
                continue
            renamed = news[index] if index < len(news) else None
            if renamed is not None and renamed.name not in old_at:
                self.add(
                    "parameter-renamed",
                    f"{subject}({renamed.name})",
                    f"parameter {index + 1} {param.name!r} is called {renamed.name!r} now",
                    _fixed(
                        (SAFE, "arguments are positional: names are not sent"),
                        (SAFE, "arguments are positional: names are not sent"),
                    ),
                )
                self.parameter(subject, param, renamed, flow)
                continue
            self.parameter_removed(subject, param, olds, news, flow)
        for index, param in enumerate(news):
            if param.name in old_at:
                continue
            if index < len(olds) and olds[index].name not in new_at:
                continue  # renamed, above
            self.parameter_added(subject, param, olds, news, flow)

    def parameter_added(
        self,
        subject: str,
        param: ir.ParameterDecl,
        olds: Sequence[ir.ParameterDecl],
        news: Sequence[ir.ParameterDecl],
        flow: Flow,
    ) -> None:
        with_default = "with" if param.default is not None else "without"
        up, down = _Parties(flow, True), _Parties(flow, False)
        to_new = (
            (SAFE, f"{up.sender_does('do', 'does')} not send it; {up.takes} its default")
            if param.default is not None
            else (BREAKING, f"{up.sender_does('do', 'does')} not send it, and it has no default")
        )
        to_old = (BREAKING, _too_many(down, news, olds))
        self.add(
            "parameter-added",
            f"{subject}({param.name})",
            f"parameter {news.index(param) + 1} {param.name!r}: {describe(param.type)} added, "
            f"{with_default} a default",
            self.by_sender(flow, old_sends=to_new, new_sends=to_old),
        )

    def parameter_removed(
        self,
        subject: str,
        param: ir.ParameterDecl,
        olds: Sequence[ir.ParameterDecl],
        news: Sequence[ir.ParameterDecl],
        flow: Flow,
    ) -> None:
        up, down = _Parties(flow, True), _Parties(flow, False)
        to_new = (BREAKING, _too_many(up, olds, news))
        to_old = (
            (SAFE, f"{down.sender_does('do', 'does')} not send it; {down.takes} its default")
            if param.default is not None
            else (BREAKING, f"{down.sender_does('do', 'does')} not send it, and {down.requires} it")
        )
        self.add(
            "parameter-removed",
            f"{subject}({param.name})",
            f"parameter {olds.index(param) + 1} {param.name!r}: {describe(param.type)} removed",
            self.by_sender(flow, old_sends=to_new, new_sends=to_old),
        )

    def parameter(
        self, subject: str, old: ir.ParameterDecl, new: ir.ParameterDecl, flow: Flow
    ) -> None:
        where = f"{subject}({new.name})"
        if _differs(old.type, new.type):
            self.add(
                "parameter-type-changed",
                where,
                f"type {describe(old.type)} became {describe(new.type)}",
                self.typed(flow, old.type, new.type),
            )
        self.defaults(where, old.default, new.default, parameter=True)

    def defaults(
        self,
        where: str,
        old: ir.DefaultValue | None,
        new: ir.DefaultValue | None,
        *,
        parameter: bool,
    ) -> None:
        if parameter and old is None and new is not None:
            why = "generated senders send every argument"
            self.add(
                "parameter-default-added",
                where,
                f"default {new.python} added",
                _fixed((SAFE, why), (SAFE, why)),
            )
        elif parameter and old is not None and new is None:
            why = "generated senders send every argument, the default too"
            self.add(
                "parameter-default-removed",
                where,
                f"default {old.python} removed",
                _fixed((SAFE, why), (SAFE, why)),
            )
        elif old is not None and new is not None and _json(old.json_value) != _json(new.json_value):
            self.add(
                "default-changed",
                where,
                f"default {old.python} became {new.python}",
                _fixed(
                    (SAFE, "a receiver applies its own default; the wire form is unchanged"),
                    (SAFE, "a receiver applies its own default; the wire form is unchanged"),
                ),
            )

    def streams(self, subject: str, old: ir.MethodDecl, new: ir.MethodDecl) -> None:
        """Client-to-server stream parameters: each is a stream id of the
        invocation, and the server requires exactly as many as it has."""
        olds = [p for p in old.parameters if p.stream]
        news = [p for p in new.parameters if p.stream]
        for index in range(max(len(olds), len(news))):
            if index >= len(news):
                param = olds[index]
                rule, message = "stream-parameter-removed", "removed"
            elif index >= len(olds):
                param = news[index]
                rule, message = "stream-parameter-added", "added"
            else:
                param = news[index]
                if _differs(olds[index].type, param.type):
                    self.add(
                        "stream-parameter-type-changed",
                        f"{subject}({param.name})",
                        f"stream item {describe(olds[index].type)} became {describe(param.type)}",
                        self.typed(Flow.TO_SERVER, olds[index].type, param.type),
                    )
                continue
            self.add(
                rule,
                f"{subject}({param.name})",
                f"stream parameter {param.name!r}: AsyncIterator[{describe(param.type)}] {message}",
                _fixed(
                    (
                        BREAKING,
                        f"old clients send {len(olds)} stream(s); the new server expects "
                        f"{len(news)} ('Client sent {len(olds)} stream(s), Hub method expects "
                        f"{len(news)}.')",
                    ),
                    (
                        BREAKING,
                        f"new clients send {len(news)} stream(s); the old server expects "
                        f"{len(olds)} ('Client sent {len(news)} stream(s), Hub method expects "
                        f"{len(olds)}.')",
                    ),
                ),
            )

    def by_sender(
        self, flow: Flow, *, old_sends: tuple[bool, str], new_sends: tuple[bool, str]
    ) -> dict[Scenario, dict[Protocol, Verdict]]:
        """Verdicts given for "the old version sends to the new" and the reverse."""
        return {
            scenario: _both(Verdict(*(old_sends if _sender_is_old(scenario, flow) else new_sends)))
            for scenario in Scenario
        }

    # -- models and enums --------------------------------------------------------------

    def declarations(self) -> None:
        flows_old, flows_new = _flows(self.old), _flows(self.new)

        def flows(name: str) -> list[Flow]:
            both = flows_old.get(name, set()) | flows_new.get(name, set())
            return [flow for flow in Flow if flow in both]

        new_models = {m.name: m for m in self.new.models}
        for old_model in self.old.models:
            new_model = new_models.get(old_model.name)
            if new_model is not None:
                self.model(old_model, new_model, flows(old_model.name))
        new_enums = {e.name: e for e in self.new.enums}
        for old_enum in self.old.enums:
            new_enum = new_enums.get(old_enum.name)
            if new_enum is not None:
                self.enum(old_enum, new_enum, flows(old_enum.name))

    def per_flow(
        self,
        flows: Sequence[Flow],
        judge: Callable[[Flow, bool, Protocol], tuple[bool, str]],
    ) -> dict[Scenario, dict[Protocol, Verdict]]:
        """Verdicts for a declaration used where data flows each of ``flows``:
        ``judge(flow, sender_is_old, protocol)`` per flow; breaking when any
        flow is."""
        verdicts: dict[Scenario, dict[Protocol, Verdict]] = {}
        for scenario in Scenario:
            verdicts[scenario] = {}
            for protocol in Protocol:
                results = [
                    (flow, *judge(flow, _sender_is_old(scenario, flow), protocol)) for flow in flows
                ]
                broken = [(flow, why) for flow, breaking, why in results if breaking]
                chosen = broken or [(flow, why) for flow, _, why in results]
                if not chosen:
                    verdicts[scenario][protocol] = Verdict(SAFE, "not used by any method")
                    continue
                flow, why = chosen[0]
                prefix = f"sent {flow.value}: " if len(flows) > 1 else ""
                verdicts[scenario][protocol] = Verdict(bool(broken), prefix + why)
        return verdicts

    def per_sender(
        self, flows: Sequence[Flow], judge: Callable[[_Parties], tuple[bool, str]]
    ) -> dict[Scenario, dict[Protocol, Verdict]]:
        """:meth:`per_flow` for a judgement that does not depend on the protocol."""
        return self.per_flow(
            flows, lambda flow, sender_is_old, protocol: judge(_Parties(flow, sender_is_old))
        )

    def model(self, old: ir.ModelDecl, new: ir.ModelDecl, flows: Sequence[Flow]) -> None:
        old_by_wire = {f.wire_name: f for f in old.fields}
        new_by_wire = {f.wire_name: f for f in new.fields}
        old_left = [f for f in old.fields if f.wire_name not in new_by_wire]
        new_left = {f.name: f for f in new.fields if f.wire_name not in old_by_wire}
        for old_field in old.fields:
            new_field = new_by_wire.get(old_field.wire_name)
            if new_field is not None:
                self.field(new.name, old_field, new_field, flows)
        for old_field in old_left:
            new_field = new_left.pop(old_field.name, None)
            subject = f"{new.name}.{old_field.name}"
            if new_field is not None:
                self.add(
                    "field-renamed",
                    subject,
                    f"wire name {old_field.wire_name!r} became {new_field.wire_name!r}",
                    self.per_sender(flows, partial(_renamed_field, old_field, new_field)),
                )
                if _differs(old_field.type, new_field.type):
                    self.field(new.name, old_field, new_field, flows)
                continue
            self.add(
                "field-removed",
                subject,
                f"field {old_field.wire_name!r}: {describe(old_field.type)} removed",
                self.per_sender(flows, partial(_field_only_in, old_field, old, new, True)),
            )
        for new_field in new_left.values():
            self.add(
                "field-added",
                f"{new.name}.{new_field.name}",
                f"field {new_field.wire_name!r}: {describe(new_field.type)} added, "
                f"{'with' if new_field.has_default else 'without'} a default",
                self.per_sender(flows, partial(_field_only_in, new_field, old, new, False)),
            )
        if old.extra != new.extra:
            self.add(
                "model-extra-changed",
                new.name,
                f"extra fields: {old.extra} became {new.extra}",
                self.per_sender(flows, partial(_extra, old, new)),
            )

    def field(
        self, model: str, old: ir.FieldDecl, new: ir.FieldDecl, flows: Sequence[Flow]
    ) -> None:
        subject = f"{model}.{new.name}"
        if old.name != new.name and old.wire_name == new.wire_name:
            self.add(
                "field-renamed-in-python",
                subject,
                f"field {old.name!r} is called {new.name!r} now, still sent as {new.wire_name!r}",
                self.per_sender(flows, _wire_name_kept),
            )
        if _differs(old.type, new.type):

            def judge(flow: Flow, sender_is_old: bool, protocol: Protocol) -> tuple[bool, str]:
                sent, taken = (old.type, new.type) if sender_is_old else (new.type, old.type)
                why = self.fit(sender_is_old, protocol, flow.role).check(sent, taken)
                if why is None:
                    return SAFE, f"every {describe(sent)} fits {describe(taken)}"
                return BREAKING, why

            self.add(
                "field-type-changed",
                subject,
                f"type {describe(old.type)} became {describe(new.type)}",
                self.per_flow(flows, judge),
            )
        if old.has_default != new.has_default:
            rule = "field-default-added" if new.has_default else "field-default-removed"

            def judge_default(
                flow: Flow, sender_is_old: bool, protocol: Protocol
            ) -> tuple[bool, str]:
                sender = old if sender_is_old else new
                receiver = new if sender_is_old else old
                if flow.role is Role.SERVER:
                    return SAFE, "a server sends every field"
                if sender.has_default and not receiver.has_default:
                    return BREAKING, (
                        f"a client may leave {new.wire_name!r} out (the generated TypeScript "
                        "input type makes it optional), and the receiver requires it"
                    )
                return SAFE, "clients always send it, or the receiver has a default for it"

            self.add(
                rule,
                subject,
                f"default {new.default.python if new.default else '(a factory)'} added"
                if new.has_default
                else "default removed: required now",
                self.per_flow(flows, judge_default),
            )
        elif old.has_default:
            self.defaults(subject, old.default, new.default, parameter=False)

    def enum(self, old: ir.EnumDecl, new: ir.EnumDecl, flows: Sequence[Flow]) -> None:
        old_values = {(type(m.value), m.value): m for m in old.members}
        new_values = {(type(m.value), m.value): m for m in new.members}
        for key, member in old_values.items():
            other = new_values.get(key)
            if other is not None and other.name != member.name:
                self.add(
                    "enum-member-renamed",
                    f"{new.name}.{other.name}",
                    f"member {member.name} is called {other.name} now, value {member.value!r}",
                    self.per_sender(flows, _values_travel),
                )
        for key, member in old_values.items():
            if key not in new_values:
                self.add(
                    "enum-value-removed",
                    f"{new.name}.{member.name}",
                    f"value {member.value!r} removed",
                    self.per_sender(flows, partial(_value_only_in, member, True)),
                )
        for key, member in new_values.items():
            if key not in old_values:
                self.add(
                    "enum-value-added",
                    f"{new.name}.{member.name}",
                    f"value {member.value!r} added",
                    self.per_sender(flows, partial(_value_only_in, member, False)),
                )


# --------------------------------------------------------------------------- helpers


def _differs(old: ir.TypeRef, new: ir.TypeRef) -> bool:
    """Whether two type references differ (as JSON: ``Literal[1]`` is not
    ``Literal[True]``, which Python's ``==`` would say it is)."""
    return old.model_dump_json() != new.model_dump_json()


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _has_result(method: ir.MethodDecl) -> bool:
    return method.returns != ir.PrimitiveType(name="none")


def _kind_word(kind: ir.MethodKind) -> str:
    return "a stream" if kind is ir.MethodKind.STREAM else "an invocation"


def _invocation(kind: ir.MethodKind) -> str:
    return "a StreamInvocation" if kind is ir.MethodKind.STREAM else "an Invocation"


@dataclass(frozen=True)
class _Parties:
    """Who sends and who receives at a position, for messages."""

    flow: Flow
    sender_is_old: bool

    @property
    def sender(self) -> str:
        version = "old" if self.sender_is_old else "new"
        return f"{version} clients" if self.flow is Flow.TO_SERVER else f"the {version} server"

    @property
    def receiver(self) -> str:
        version = "new" if self.sender_is_old else "old"
        return f"the {version} server" if self.flow is Flow.TO_SERVER else f"{version} clients"

    def sender_does(self, plural: str, singular: str) -> str:
        """``old clients do not send`` / ``the new server does not send``."""
        verb = plural if self.flow is Flow.TO_SERVER else singular
        return f"{self.sender} {verb}"

    def receiver_does(self, plural: str, singular: str) -> str:
        verb = singular if self.flow is Flow.TO_SERVER else plural
        return f"{self.receiver} {verb}"

    @property
    def sends(self) -> str:
        return self.sender_does("send", "sends")

    @property
    def takes(self) -> str:
        return self.receiver_does("take", "takes")

    @property
    def requires(self) -> str:
        return self.receiver_does("require", "requires")


def _expects(params: Sequence[ir.ParameterDecl]) -> str:
    required = sum(1 for p in params if p.default is None)
    return str(len(params)) if required == len(params) else f"{required} to {len(params)}"


def _lands(parties: _Parties, name: str, index: int, receiving: Sequence[ir.ParameterDecl]) -> str:
    """Where argument ``index`` (``name`` to the sender) lands at the receiver."""
    there = f"{receiving[index].name!r}" if index < len(receiving) else "nothing"
    return (
        f"arguments are positional: {parties.sends} {name!r} as argument {index + 1}, "
        f"which {parties.receiver_does('read', 'reads')} as {there}"
    )


def _too_many(
    parties: _Parties, sent: Sequence[ir.ParameterDecl], taken: Sequence[ir.ParameterDecl]
) -> str:
    return (
        f"{parties.sends} {len(sent)} argument(s); {parties.takes} at most {len(taken)} "
        f"('Invocation provides {len(sent)} argument(s) but target expects {_expects(taken)}.')"
    )


def _field_only_in(
    field_: ir.FieldDecl,
    old: ir.ModelDecl,
    new: ir.ModelDecl,
    in_old: bool,
    parties: _Parties,
) -> tuple[bool, str]:
    """A field only the old (``in_old``) or only the new version of a model has."""
    receiver = new if parties.sender_is_old else old
    wire = field_.wire_name
    if in_old == parties.sender_is_old:  # the sender has it, the receiver does not
        if receiver.extra == "forbid":
            return BREAKING, (
                f"{parties.sends} {wire!r}, and {parties.receiver_does('forbid', 'forbids')} "
                f"extra fields in {receiver.name}"
            )
        return SAFE, f"{parties.sends} {wire!r}; {parties.receiver_does('ignore', 'ignores')} it"
    if field_.has_default:
        return (
            SAFE,
            f"{parties.sender_does('leave', 'leaves')} out {wire!r}; {parties.takes} its default",
        )
    return (
        BREAKING,
        f"{parties.sender_does('do', 'does')} not send {wire!r}, and {parties.requires} it",
    )


def _renamed_field(old: ir.FieldDecl, new: ir.FieldDecl, parties: _Parties) -> tuple[bool, str]:
    sent, taken = (old, new) if parties.sender_is_old else (new, old)
    if taken.has_default:
        return BREAKING, (
            f"{parties.sends} it as {sent.wire_name!r}, {parties.receiver_does('read', 'reads')} "
            f"{taken.wire_name!r}: the value is lost, the default taken instead"
        )
    return BREAKING, (
        f"{parties.sends} it as {sent.wire_name!r}; {parties.requires} {taken.wire_name!r}"
    )


def _wire_name_kept(parties: _Parties) -> tuple[bool, str]:
    return SAFE, "the wire name is unchanged"


def _extra(old: ir.ModelDecl, new: ir.ModelDecl, parties: _Parties) -> tuple[bool, str]:
    sender, receiver = (old, new) if parties.sender_is_old else (new, old)
    if receiver.extra != "forbid":
        return SAFE, f"{parties.receiver_does('ignore', 'ignores')} fields not declared"
    unknown = undeclared((f.wire_name for f in sender.fields), receiver)
    if unknown:
        listed = ", ".join(map(repr, unknown))
        return (
            BREAKING,
            f"{parties.sends} {listed}, which {parties.receiver_does('forbid', 'forbids')}",
        )
    return SAFE, f"{parties.sends} only fields {parties.receiver_does('declare', 'declares')}"


def _values_travel(parties: _Parties) -> tuple[bool, str]:
    return SAFE, "enum values travel, not member names"


def _value_only_in(member: ir.EnumMember, in_old: bool, parties: _Parties) -> tuple[bool, str]:
    if in_old == parties.sender_is_old:
        return (
            BREAKING,
            f"{parties.sender} may send {member.value!r}, unknown to {parties.receiver}",
        )
    return SAFE, f"{parties.sender_does('never send', 'never sends')} {member.value!r}"


def diff(old: ir.Contract, new: ir.Contract) -> list[Change]:
    """Every change from ``old`` to ``new``, with its verdicts."""
    return _Differ(old, new).run()
