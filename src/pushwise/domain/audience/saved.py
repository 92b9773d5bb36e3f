"""Saved segments inside rules: `{"field": "segment", "op": "=", "value": "<id>"}`.

A rule naming a saved segment is used with that segment's rule put in its place
(recursively), so the evaluator and the SQL compiler never see a reference. The
store fetches the saved rules a rule reaches (`referenced`), then `inline` swaps
them in, refusing an unknown id and a segment that reaches itself, each at the path
of the clause that names it.
"""

from __future__ import annotations

from collections.abc import Mapping

from pushwise.domain.audience.rules import AllOf, AnyOf, InSegment, Not, Rule, RuleError, segment_ids

# How many saved rules one rule may pull in, all levels together (a segment named twice counts
# twice): it bounds the size of the SQL a rule becomes.
MAX_EXPANSIONS = 20


def inline(rule: Rule, saved: Mapping[str, Rule], *, own_id: str | None = None) -> Rule:
    """`rule` with every saved segment it names replaced by that segment's rule.

    `saved` holds the rules of (at least) every segment `rule` reaches; `own_id` is the
    segment `rule` is being saved as, which it must not reach.
    """
    outer = (own_id,) if own_id else ()
    return _Inliner(saved).inline(rule, outer, None)


class _Inliner:
    def __init__(self, saved: Mapping[str, Rule]) -> None:
        self._saved = saved
        self._expansions = 0

    def inline(self, rule: Rule, chain: tuple[str, ...], where: InSegment | None) -> Rule:
        match rule:
            case AllOf(rules):
                return AllOf(tuple(self.inline(child, chain, where) for child in rules))
            case AnyOf(rules):
                return AnyOf(tuple(self.inline(child, chain, where) for child in rules))
            case Not(child):
                return Not(self.inline(child, chain, where))
            case InSegment(segment_id):
                # A reference inside a saved segment is reported where the outer rule names that segment.
                clause = where or rule
                if segment_id in chain:
                    loop = " -> ".join((*chain[chain.index(segment_id) :], segment_id))
                    raise RuleError(clause.path, f"segments may not refer to themselves ({loop})")
                found = self._saved.get(segment_id)
                if found is None:
                    inner = "" if where is None else f" (named by segment {chain[-1]})"
                    raise RuleError(clause.path, f"no saved segment {segment_id!r} in this app{inner}")
                self._expansions += 1
                if self._expansions > MAX_EXPANSIONS:
                    limit = f"a rule may pull in at most {MAX_EXPANSIONS} saved segments"
                    raise RuleError(clause.path, limit)
                return self.inline(found, (*chain, segment_id), clause)
            case _:
                return rule


def referenced(rule: Rule) -> list[str]:
    """Ids of the saved segments `rule` names directly, each once, in order."""
    return list(dict.fromkeys(found.segment_id for found in segment_ids(rule)))
