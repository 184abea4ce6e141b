"""DBLP templates, over the citation graph (PaperNet) and the collaboration graph (AuthorNet).

Where the official generator's gold disagrees with its own wording, the gold follows the wording:

- easy "How many papers did {a1} and {a2} write together": number of distinct papers on their AuthorNet
  edge (official: number of common collaborators).
- easy/hard "What papers did {a} write" / "How many papers did {a} write" / venue, keyword and citation
  questions over an author's papers: each distinct paper counted once (official: the edge lists repeat a
  paper 2k-1 times and every co-author edge repeats it again); the author is chosen so that all their
  papers are co-authored (solo papers are invisible to every tool).
- hard "Which venue does {a} publish the most papers": the venue with most distinct papers (official: a
  list built from the last paper of each edge).
- hard "How many papers in all do {a} and his/her collaborators have": distinct papers on AuthorNet edges
  incident to the author or a collaborator (official: number of EDGES of the 2-hop subgraph).
- hard "What institutions participated in the study of {title}": distinct non-empty orgs in author order
  joined "; " (official: Python set order, empty org included).
- hard "What keywords does {a} focus on most": the most frequent keyword(s) over the author's papers, ties
  joined ", " in first-seen order (official: the union of all keywords in set order).

Names and titles containing ", " are never used (the graph tools split their argument on ", "). "How many
papers did {title} cite" uses papers whose references are all 2021+ papers; "Who are the authors of
{title}" uses 2021+ papers. "How many papers in the DBLP citation network cited {title}?" keeps its official
gold (in-degree) although no tool lists citing papers (its chain only loads the graph). Kept as in the
official generator: "Who collaborated with {a} most" keeps ties.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from seer_env.envs.toolqa import corpus
from seer_env.envs.toolqa.synth_questions.common import (
    MAX_CHAIN,
    Instance,
    Sampler,
    Skip,
    author_edge_text,
    author_neighbours_text,
    edge_check,
    load_graph,
    neighbour_check,
    node_check,
    node_text,
    python,
    template,
)


@dataclass
class _Dblp:
    """The graph as `corpus.load_dblp` gives it to the tools, and what the handlers look up in it."""

    graph: corpus.DBLP
    name_count: Counter  # authors per name
    authors: list[str]  # AuthorNet node ids, sorted
    papers: list[str]  # 2021+ paper ids (the ones the dicts name), sorted
    papers_of: dict[str, list[str]] | None = None  # author id -> their 2021+ papers, built on first use

    def name(self, author_id: str) -> str:
        return self.graph.id2author[author_id]

    def title(self, paper_id: str) -> str:
        return self.graph.id2title[paper_id]

    def edge_papers(self, a: str, b: str) -> list[str]:
        """Distinct paper ids on an AuthorNet edge, in first-seen order."""
        return list(dict.fromkeys(self.graph.author_net[a][b]["papers"]))


def _dblp(s: Sampler) -> _Dblp:
    def build() -> _Dblp:
        g = s.dblp()
        return _Dblp(g, Counter(g.id2author.values()), sorted(g.author_net.nodes), sorted(g.id2title))

    return s.memo("dblp lookups", build)


def _nameable(d: _Dblp, author_id: str) -> bool:
    """The author's name is unique, maps back to them and can be a tool argument."""
    name = d.graph.id2author.get(author_id)
    return (
        name is not None
        and d.name_count[name] == 1
        and d.graph.author2id.get(name) == author_id
        and ", " not in name
    )


def _draw_author(s: Sampler, max_deg: int | None = None, min_deg: int = 1) -> tuple[str, list[str]]:
    """A nameable author with between `min_deg` and `max_deg` collaborators, and those collaborators."""
    d = _dblp(s)
    aid = s.pick(d.authors)
    nbs = list(d.graph.author_net.neighbors(aid))
    if not _nameable(d, aid) or len(nbs) < min_deg or (max_deg is not None and len(nbs) > max_deg):
        raise Skip
    return aid, nbs


def _all_papers_coauthored(d: _Dblp, aid: str, papers: list[str]) -> bool:
    """True when every 2021+ paper of the author is on one of their AuthorNet edges."""
    if d.papers_of is None:
        papers_of: dict[str, list[str]] = {}
        for pid in d.papers:
            for au in d.graph.paper_net.nodes[pid]["authors"]:
                if au["id"]:
                    papers_of.setdefault(au["id"], []).append(pid)
        d.papers_of = papers_of
    return set(d.papers_of.get(aid, [])) == set(papers)


def _draw_paper(s: Sampler, pred: Callable[[dict], bool] | None = None) -> tuple[str, dict]:
    """A 2021+ paper whose title names it (and satisfies `pred`), with its attributes."""
    d = _dblp(s)
    pid = s.pick(d.papers)
    attrs = d.graph.paper_net.nodes[pid]
    title = attrs.get("title", "")
    if ", " in title or d.graph.title2id.get(title) != pid or (pred and not pred(attrs)):
        raise Skip
    return pid, attrs


def _draw_collaborators(s: Sampler, max_deg: int | None = None) -> tuple[str, str]:
    """Two nameable authors who share an AuthorNet edge."""
    aid, nbs = _draw_author(s, max_deg=max_deg)
    b = s.pick(nbs)
    if not _nameable(_dblp(s), b):
        raise Skip
    return aid, b


def _draw_author_with_papers(s: Sampler, max_deg: int = 8):
    """An author whose papers are all co-authored with nameable collaborators; the chain listing their
    collaborators and checking each edge, and the text those EdgeChecks print (a list)."""
    d = _dblp(s)
    aid, nbs = _draw_author(s, max_deg=max_deg)
    if not all(_nameable(d, n) for n in nbs):
        raise Skip
    papers: list[str] = []
    for nb in nbs:
        papers.extend(d.edge_papers(aid, nb))
    papers = list(dict.fromkeys(papers))
    if not _all_papers_coauthored(d, aid, papers):
        raise Skip
    chain = [load_graph(), neighbour_check("AuthorNet", d.name(aid))]
    chain += [edge_check("AuthorNet", d.name(aid), d.name(n)) for n in nbs]
    edges = "[" + ", ".join(author_edge_text(d.graph, aid, n) for n in nbs) + "]"
    return aid, nbs, papers, chain, edges


# ---------------------------------------------------------------------------------------- easy


@template("dblp", "easy", 1, "Who are the authors of {title}?", 10)
def authors_of_paper(s: Sampler) -> Instance:
    _, attrs = _draw_paper(s)
    ans = ", ".join(a["name"] for a in attrs["authors"])
    code = f"n = {node_text(attrs)}; ans = ', '.join(a['name'] for a in n['authors'])"
    return Instance(
        dict(title=attrs["title"]), ans, [load_graph(), node_check("PaperNet", attrs["title"]), python(code)]
    )


@template("dblp", "easy", 2, "What organization is {author} from?", 10)
def organization_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _ = _draw_author(s)
    org = d.graph.author_net.nodes[aid]["org"]
    if not org:
        raise Skip
    return Instance(dict(author=d.name(aid)), org, [load_graph(), node_check("AuthorNet", d.name(aid))])


@template("dblp", "easy", 3, "How many pages is {title}?", 10)
def page_count(s: Sampler) -> Instance:
    def has_pages(a):
        try:
            return int(float(a["page_end"])) - int(float(a["page_start"])) + 1 > 0
        except (ValueError, KeyError):
            return False

    _, attrs = _draw_paper(s, has_pages)
    ans = int(float(attrs["page_end"])) - int(float(attrs["page_start"])) + 1
    code = f"n = {node_text(attrs)}; ans = int(float(n['page_end'])) - int(float(n['page_start'])) + 1"
    return Instance(
        dict(title=attrs["title"]), ans, [load_graph(), node_check("PaperNet", attrs["title"]), python(code)]
    )


@template("dblp", "easy", 4, "How many papers did {title} cite?", 10)
def references_of_paper(s: Sampler) -> Instance:
    d = _dblp(s)
    pid, attrs = _draw_paper(s)
    cited = list(d.graph.paper_net.successors(pid))
    if not cited or any(c not in d.graph.id2title for c in cited):
        raise Skip
    shown = str([d.title(c) for c in cited])  # what NeighbourCheck[PaperNet, title] prints
    return Instance(dict(title=attrs["title"]), len(cited), [load_graph(), neighbour_check("PaperNet", attrs["title"]),
                                                             python(f"ans = len({shown})")])  # fmt: skip


@template("dblp", "easy", 5, "How many papers in the DBLP citation network cited {title}?", 10, verify=False)
def citations_of_paper(s: Sampler) -> Instance:
    """In-degree in PaperNet; no tool lists citing papers, so the chain only loads the graph."""
    d = _dblp(s)
    pid, attrs = _draw_paper(s)
    n = d.graph.paper_net.in_degree(pid)
    if n == 0:
        raise Skip
    return Instance(dict(title=attrs["title"]), n, [load_graph()])


@template("dblp", "easy", 6, "How many collaborators does {author} have in the DBLP citation network?", 10)
def collaborator_count(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, nbs = _draw_author(s)
    return Instance(dict(author=d.name(aid)), len(nbs), [load_graph(), neighbour_check("AuthorNet", d.name(aid)),
                                                         python(f"ans = len({author_neighbours_text(d.graph, aid)})")])  # fmt: skip


@template("dblp", "easy", 7, "How many papers did {author1} and {author2} write together in the DBLP citation network?", 10)  # fmt: skip
def papers_of_author_pair(s: Sampler) -> Instance:
    d = _dblp(s)
    a, b = _draw_collaborators(s)
    code = f"e = {author_edge_text(d.graph, a, b)}; ans = len(set(e['papers']))"
    return Instance(dict(author1=d.name(a), author2=d.name(b)), len(d.edge_papers(a, b)),
                    [load_graph(), edge_check("AuthorNet", d.name(a), d.name(b)), python(code)])  # fmt: skip


@template("dblp", "easy", 8, "What papers did {author} write in the DBLP citation network?", 10)
def papers_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _, papers, chain, edges = _draw_author_with_papers(s)
    code = f"es = {edges}; ans = ', '.join(dict.fromkeys(t for e in es for t in e['papers']))"
    return Instance(dict(author=d.name(aid)), ", ".join(d.title(p) for p in papers), chain + [python(code)])


@template("dblp", "easy", 9, "How many papers did {author} write in the DBLP citation network?", 10)
def paper_count_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _, papers, chain, edges = _draw_author_with_papers(s)
    code = f"es = {edges}; ans = len(set(t for e in es for t in e['papers']))"
    return Instance(dict(author=d.name(aid)), len(papers), chain + [python(code)])


@template("dblp", "easy", 10, "What venue did {author1} and {author2} collaborate most in the DBLP citation network?", 10)  # fmt: skip
def top_venue_of_author_pair(s: Sampler) -> Instance:
    d = _dblp(s)
    a, b = _draw_collaborators(s)
    ps = d.edge_papers(a, b)
    if len(ps) > 12 or (len(ps) < 2 and s.rng.random() < 0.7):
        raise Skip
    g = d.graph.paper_net
    top = Counter(g.nodes[p]["venue"]["raw"] for p in ps).most_common()
    if len(top) > 1 and top[0][1] == top[1][1]:
        raise Skip
    nodes = "[" + ", ".join(node_text(g.nodes[p]) for p in ps) + "]"
    code = f"from collections import Counter; ns = {nodes}; ans = Counter(n['venue']['raw'] for n in ns).most_common(1)[0][0]"
    chain = [load_graph(), edge_check("AuthorNet", d.name(a), d.name(b))]
    chain += [node_check("PaperNet", d.title(p)) for p in ps] + [python(code)]
    return Instance(dict(author1=d.name(a), author2=d.name(b)), top[0][0], chain)


# ---------------------------------------------------------------------------------------- hard


@template("dblp", "hard", 1, "How many people does {author1} need to know at least to know {author2} in the DBLP citation network?", 10)  # fmt: skip
def steps_to_collaborator(s: Sampler) -> Instance:
    """Always 1: the two are drawn as direct collaborators."""
    d = _dblp(s)
    a, b = _draw_collaborators(s)
    code = f"ans = 1 if {d.name(b)!r} in {author_neighbours_text(d.graph, a)} else None"
    return Instance(dict(author1=d.name(a), author2=d.name(b)), "1",
                    [load_graph(), neighbour_check("AuthorNet", d.name(a)), python(code)])  # fmt: skip


@template("dblp", "hard", 2, "How many common collaborators does {author1} have with {author2}?", 10)
def common_collaborators(s: Sampler) -> Instance:
    d = _dblp(s)
    a, b = _draw_collaborators(s)
    g = d.graph.author_net
    na, nb = set(g.neighbors(a)), set(g.neighbors(b))
    if not all(_nameable(d, x) for x in na | nb):
        raise Skip
    code = f"ans = len(set({author_neighbours_text(d.graph, a)}) & set({author_neighbours_text(d.graph, b)}))"
    return Instance(dict(author1=d.name(a), author2=d.name(b)), str(len(na & nb)),
                    [load_graph(), neighbour_check("AuthorNet", d.name(a)), neighbour_check("AuthorNet", d.name(b)),
                     python(code)])  # fmt: skip


@template("dblp", "hard", 3, "Which is the most cited paper written by {author} in the DBLP citation network?", 10)  # fmt: skip
def most_cited_paper_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _, papers, chain, edges = _draw_author_with_papers(s, max_deg=12)
    cites = [d.graph.paper_net.nodes[p]["n_citation"] for p in papers]
    best = max(cites)
    if best <= 0 or cites.count(best) != 1:
        raise Skip
    code = (
        f"es = {edges}\n"
        "c = {}\nfor e in es:\n    for t, n in zip(e['papers'], e['n_citation']):\n        c[t] = n\n"
        "ans = max(c, key=c.get)"
    )
    return Instance(dict(author=d.name(aid)), d.title(papers[cites.index(best)]), chain + [python(code)])


@template("dblp", "hard", 4, "Which collaborator does {author} have the most citations with in the DBLP citation network?", 10)  # fmt: skip
def collaborator_with_most_joint_citations(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, nbs, _, chain, edges = _draw_author_with_papers(s, max_deg=12)
    g = d.graph.paper_net
    sums = [sum(g.nodes[p]["n_citation"] for p in d.edge_papers(aid, n)) for n in nbs]
    best = max(sums)
    if best <= 0 or sums.count(best) != 1:
        raise Skip
    code = (
        f"nb = {author_neighbours_text(d.graph, aid)}; es = {edges}\n"
        "s = [sum(dict(zip(e['papers'], e['n_citation'])).values()) for e in es]\n"
        "ans = nb[s.index(max(s))]"
    )
    return Instance(dict(author=d.name(aid)), d.name(nbs[sums.index(best)]), chain + [python(code)])


@template("dblp", "hard", 5, "Which venue does {author} publish the most papers in the DBLP citation network?", 10)  # fmt: skip
def top_venue_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _, papers, chain, _ = _draw_author_with_papers(s, max_deg=5)
    if len(chain) + len(papers) + 1 > MAX_CHAIN:
        raise Skip
    g = d.graph.paper_net
    top = Counter(g.nodes[p]["venue"]["raw"] for p in papers).most_common()
    if len(top) > 1 and top[0][1] == top[1][1]:
        raise Skip
    nodes = "[" + ", ".join(node_text(g.nodes[p]) for p in papers) + "]"
    code = f"from collections import Counter; ns = {nodes}; ans = Counter(n['venue']['raw'] for n in ns).most_common(1)[0][0]"
    chain = chain + [node_check("PaperNet", d.title(p)) for p in papers] + [python(code)]
    return Instance(dict(author=d.name(aid)), top[0][0], chain)


@template("dblp", "hard", 6, "How many accumulated citations do papers collaborated by {author1} and {author2} have in the DBLP citation network?", 10)  # fmt: skip
def citations_of_author_pair(s: Sampler) -> Instance:
    d = _dblp(s)
    a, b = _draw_collaborators(s)
    g = d.graph.paper_net
    ans = str(sum(g.nodes[p]["n_citation"] for p in d.edge_papers(a, b)))
    code = (
        f"e = {author_edge_text(d.graph, a, b)}; ans = sum(dict(zip(e['papers'], e['n_citation'])).values())"
    )
    return Instance(dict(author1=d.name(a), author2=d.name(b)), ans,
                    [load_graph(), edge_check("AuthorNet", d.name(a), d.name(b)), python(code)])  # fmt: skip


@template("dblp", "hard", 7, "How many papers in all do {author} and his/her collaborators have in the DBLP citation network?", 10)  # fmt: skip
def papers_of_author_and_collaborators(s: Sampler) -> Instance:
    d = _dblp(s)
    g = d.graph.author_net
    aid, nbs = _draw_author(s, max_deg=4)
    edges: list[tuple[str, str]] = []
    seen = set()
    chain = [load_graph(), neighbour_check("AuthorNet", d.name(aid))]
    for x in [aid] + nbs:
        if x != aid:
            chain.append(neighbour_check("AuthorNet", d.name(x)))
        for y in g.neighbors(x):
            if frozenset((x, y)) not in seen:
                seen.add(frozenset((x, y)))
                edges.append((x, y))
    if any(not _nameable(d, v) for e in edges for v in e):
        raise Skip
    if len(chain) + len(edges) + 1 > MAX_CHAIN:
        raise Skip
    papers = set()
    for x, y in edges:
        papers.update(d.edge_papers(x, y))
    chain += [edge_check("AuthorNet", d.name(x), d.name(y)) for x, y in edges]
    shown = "[" + ", ".join(author_edge_text(d.graph, x, y) for x, y in edges) + "]"
    chain.append(python(f"es = {shown}; ans = len(set(t for e in es for t in e['papers']))"))
    return Instance(dict(author=d.name(aid)), len(papers), chain)


@template("dblp", "hard", 8, "Who collaborated with {author} most in the DBLP citation network?", 10)
def most_frequent_collaborators(s: Sampler) -> Instance:
    """The collaborator(s) with the heaviest AuthorNet edge, ties joined ", "."""
    d = _dblp(s)
    aid, nbs, _, chain, edges = _draw_author_with_papers(s, max_deg=12)
    w = [d.graph.author_net[aid][n]["weight"] for n in nbs]
    ans = ", ".join(d.name(n) for n, x in zip(nbs, w, strict=False) if x == max(w))
    code = f"nb = {author_neighbours_text(d.graph, aid)}; es = {edges}; w = [e['weight'] for e in es]\nans = ', '.join(n for n, x in zip(nb, w) if x == max(w))"
    return Instance(dict(author=d.name(aid)), ans, chain + [python(code)])


@template("dblp", "hard", 9, "What institutions participated in the study of {title} in the DBLP citation network?", 10)  # fmt: skip
def organizations_of_paper(s: Sampler) -> Instance:
    _, attrs = _draw_paper(s)
    orgs = list(dict.fromkeys(a["org"] for a in attrs["authors"] if a["org"]))
    if not orgs:
        raise Skip
    code = (
        f"n = {node_text(attrs)}; ans = '; '.join(dict.fromkeys(a['org'] for a in n['authors'] if a['org']))"
    )
    return Instance(dict(title=attrs["title"]), "; ".join(orgs),
                    [load_graph(), node_check("PaperNet", attrs["title"]), python(code)])  # fmt: skip


@template("dblp", "hard", 10, "What keywords does {author} focus on most in the DBLP citation network?", 10)
def top_keywords_of_author(s: Sampler) -> Instance:
    d = _dblp(s)
    aid, _, papers, chain, _ = _draw_author_with_papers(s, max_deg=5)
    if len(chain) + len(papers) + 1 > MAX_CHAIN:
        raise Skip
    g = d.graph.paper_net
    counts = Counter()
    for p in papers:
        counts.update(list(dict.fromkeys(g.nodes[p]["keywords"])))
    if not counts:
        raise Skip
    top = max(counts.values())
    ans = ", ".join(k for k, v in counts.items() if v == top)
    nodes = "[" + ", ".join(node_text(g.nodes[p]) for p in papers) + "]"
    code = (
        f"from collections import Counter; ns = {nodes}; c = Counter()\n"
        "for n in ns:\n    c.update(list(dict.fromkeys(n['keywords'])))\n"
        "ans = ', '.join(k for k, v in c.items() if v == max(c.values()))"
    )
    chain = chain + [node_check("PaperNet", d.title(p)) for p in papers] + [python(code)]
    return Instance(dict(author=d.name(aid)), ans, chain)
