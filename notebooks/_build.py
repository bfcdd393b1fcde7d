"""Write the tutorial notebooks of ``notebooks/`` from the cell sources below.

The notebooks are committed *without outputs* (``tests/test_notebooks.py``
executes them and checks that they are stripped). Edit the cells here, then::

    python notebooks/_build.py            # rewrite every notebook
    python notebooks/_build.py 03         # only those whose name starts with 03

Each notebook starts with a markdown introduction, then a setup cell, then a
cell of knobs tagged ``parameters`` (small settings; scale them up by hand).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                   "language": "python"},
    "language_info": {"name": "python"},
}


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str, *tags: str):
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def params(text: str):
    return code(text, "parameters")


SETUP = """
%matplotlib inline
import numpy as np
import sympy as sp
from IPython.display import Markdown, display

import lola_sym as ls
from lola_sym import games, plots
"""

NOTEBOOKS: dict = {}

# --------------------------------------------------------------------------- 01
NOTEBOOKS["01_reproduce_lola.ipynb"] = [
    md(r"""
# Reproducing LOLA's exact-gradient results

This tutorial reproduces the *exact-gradient* experiments of Foerster et al. (2018),
*Learning with Opponent-Learning Awareness* (AAMAS, arXiv:1709.04326): Table 3 (rows NL-Ex and
LOLA-Ex) and the training curves and learned policies of Sec. 6, on the iterated prisoner's
dilemma (IPD) and iterated matching pennies (IMP).

**Why exact?** In these rows of the paper the learners do not sample episodes: each agent's
discounted return is a closed-form function of both policies and is differentiated exactly.
`lola_sym` derives those values and update rules symbolically and compiles them, so the
experiment is deterministic given the seed of the initial parameters.

**Notation (the paper's).** Agent $i$ has a memory-1 policy with five logits
$\theta_i = (\theta_{i,s_0}, \theta_{i,CC}, \theta_{i,CD}, \theta_{i,DC}, \theta_{i,DD})$; it plays
the first action (C, or Heads) with probability $\sigma(\theta_{i,s})$, the state being the previous
joint action read from the agent's *own* perspective (own action first). With $p_0$ the
distribution of the first joint action, $P$ the Markov chain of joint actions and $r_i$ the payoffs,

$$ V^i(\theta_1, \theta_2) = p_0^\top (I - \gamma P)^{-1} r_i , $$

and the paper reports the *average reward per step* $R = (1 - \gamma) V^i$. The naive learner (NL)
and LOLA (Eq. 4.4) update simultaneously with learning rate $\delta$ and look-ahead $\eta$:

$$ \text{NL:}\quad \theta_1 \leftarrow \theta_1 + \delta\, \nabla_1 V^1, \qquad
   \text{LOLA:}\quad \theta_1 \leftarrow \theta_1 + \delta\, \nabla_1 V^1
   + \delta\eta\, (\nabla_2 V^1)^\top \nabla_1 \nabla_2 V^2 $$

(and symmetrically for agent 2). Settings of the paper and its release code:
$\delta = \eta = 1$, 200 updates, 50 runs, $\theta \sim \mathcal N(0, 1)$, $\gamma = 0.96$ for the
IPD and $0.9$ for IMP.
"""),
    code(SETUP + """from lola_sym import policy, train
from lola_sym.report.reproduce import PAPER_TABLE3, format_table, lola2018, nash_distance, tft_like
"""),
    md("The knobs: the paper's full size runs in a few seconds, so these are the paper's settings."),
    params("""
RUNS = 50    # independent runs (paper: 50)
STEPS = 200  # updates per run (release code: 200)
SEED = 0     # seed of the initial parameters, shared by every setting
"""),
    md(r"""
## 1. The games

Each game is an immutable value with exact rational payoffs. Payoffs are rewards (maximised);
`r1` and `r2` list them over the joint actions CC, CD, DC, DD, agent 1's action first.
"""),
    code("""
ipd, imp = games.ipd(), games.imp()
print(ipd.name, "r1 =", ipd.r1, "r2 =", ipd.r2, "gamma =", ipd.gamma)
print(imp.name, "r1 =", imp.r1, "r2 =", imp.r2, "gamma =", imp.gamma, "zero-sum:", imp.is_zero_sum)
"""),
    md(r"""
Two sanity checks from the paper: tit-for-tat against tit-for-tat earns $-1$ per step (mutual
cooperation), mutual defection $-2$. `policy("tft")` is the same logit vector for both agents
because states are read from each agent's own perspective.
"""),
    code("""
for a, b in [("tft", "tft"), ("alld", "alld"), ("tft", "alld")]:
    print(f"{a:>4} vs {b:<4}  (1 - gamma) V =", ipd.average_reward(policy(a), policy(b)).round(4))
assert np.allclose(ipd.average_reward(policy("tft"), policy("tft")), [-1, -1])
"""),
    md(r"""
## 2. Table 3: NL-Ex and LOLA-Ex

`lola2018` trains NL/NL, LOLA/LOLA and LOLA vs NL on both games from the same seeded initial
parameters and puts the published numbers beside ours. $R$ is the final $(1-\gamma)V$, mean (std)
over runs.
"""),
    code("""
rows = lola2018(runs=RUNS, steps=STEPS, seed=SEED)
print(format_table(rows))
"""),
    md(r"""
How far from the paper are we? The paper gives mean and standard deviation over 50 runs, so a
natural yardstick is the standard error of its mean, $\text{std}/\sqrt{50}$. Agent 1's reward is
used (in IMP the two agents' rewards cancel exactly, so their pooled mean is always 0).
"""),
    code("""
print(f"{'game':4} {'setting':8} {'ours':>7} {'paper':>7} {'paper s.e.':>10} {'z':>6}")
for r in rows:
    if r.paper_r_mean is None:
        continue
    se = r.paper_r_std / np.sqrt(50)
    z = (r.r1_mean - r.paper_r_mean) / se
    print(f"{r.game:4} {r.setting:8} {r.r1_mean:+7.3f} {r.paper_r_mean:+7.2f} {se:10.3f} {z:+6.2f}")
"""),
    md(r"""
**Reading the table.**

* *IPD.* Naive learners end in mutual defection ($R \approx -2$), LOLA agents near mutual
  cooperation ($R \approx -1.06$): the paper's headline result, reproduced within about one
  standard error of its means (column z). The paper's NL-Ex standard deviation (0.14) hints at an occasional run that
  did not defect; with exact gradients and this seed every NL run defects.
* *%TFT.* The paper does not define its criterion. Ours (documented in `lola_sym.report.reproduce`) is
  strict: an agent counts as TFT-like only if all five probabilities are on the tit-for-tat side
  of 1/2 (cooperate in $s_0$, CC and DC; defect in CD and DD, own perspective). It yields fewer
  TFT agents than the paper's 81 %; we report the difference rather than tune a definition to
  hit the published number.
* *IMP.* Both settings average zero reward, as in the paper, but for different reasons: the
  naive learners' reward has a large spread across runs (they circle around the equilibrium,
  see below) while LOLA's spread is tiny: LOLA approaches the Nash equilibrium (all probabilities
  1/2); the last column, the mean over runs of $\max |p - 1/2|$, says so directly.
"""),
    code("""
ipd_rows = {r.setting: r for r in rows if r.game == "IPD"}
assert ipd_rows["LOLA-Ex"].r_mean > ipd_rows["NL-Ex"].r_mean + 0.5   # LOLA cooperates, NL defects
imp_rows = {r.setting: r for r in rows if r.game == "IMP"}
assert imp_rows["LOLA-Ex"].nash_distance < imp_rows["NL-Ex"].nash_distance
"""),
    md(r"""
## 3. Training curves and learned policies (IPD)

The same trainings again, keeping the whole trajectories for the figures. `train` draws the
initial parameters from the same seed as `lola2018`, so these are exactly the runs of the table.
Every figure function of `lola_sym.report.plots` returns a matplotlib `Figure` (Agg canvas, no display
needed); in a notebook it shows inline.
"""),
    code("""
ipd_runs = {
    "NL-Ex": train(ipd, "nl", runs=RUNS, steps=STEPS, seed=SEED),
    "LOLA-Ex": train(ipd, "lola", runs=RUNS, steps=STEPS, seed=SEED, eta=1.0),
    "LOLA-Ex vs NL-Ex": train(ipd, "lola", "nl", runs=RUNS, steps=STEPS, seed=SEED, hyper1={"eta": 1.0}),
}
assert np.isclose(ipd_runs["LOLA-Ex"].final_reward[:, 0].mean(), ipd_rows["LOLA-Ex"].r1_mean)
plots.training_curves(ipd_runs, agent="both")
"""),
    md(r"""
Naive learners slide into mutual defection within a few dozen updates; LOLA agents first dip
and then climb towards $-1$, the value of mutual cooperation. When LOLA meets a naive learner
(green), both end up better off than two naive learners: LOLA shapes its opponent's learning.
Where did the agents' policies end up?
"""),
    code("""
plots.final_policies({k: ipd_runs[k] for k in ("NL-Ex", "LOLA-Ex")})
"""),
    md(r"""
Each dot is one run's probability of cooperating in a state, the bar the mean over runs. Naive
learners defect everywhere. LOLA agents cooperate after CC and after DC (the opponent cooperated)
and defect after CD and DD (the opponent defected): tit-for-tat, identical for both agents in
own-perspective labels. (The paper words this in the release code's shared, agent-1-first
labels: "agent 1 cooperates in $s_0$, CC and DC, agent 2 in $s_0$, CC and CD"; see
`ls.to_release`.) A looser criterion that ignores the first move counts more TFT-like agents:
"""),
    code("""
from scipy.special import expit
final = np.concatenate([ipd_runs["LOLA-Ex"].theta1[-1], ipd_runs["LOLA-Ex"].theta2[-1]])
p = expit(final)
reciprocal = (p[:, 1] > 0.5) & (p[:, 3] > 0.5) & (p[:, 2] < 0.5) & (p[:, 4] < 0.5)
print(f"strict TFT (all five states): {100 * tft_like(final).mean():.0f} % of LOLA agents")
print(f"reciprocal in CC, CD, DC, DD (any first move): {100 * reciprocal.mean():.0f} %")
"""),
    md(r"""
## 4. Iterated matching pennies

IMP is zero-sum with a unique Nash equilibrium: every probability $1/2$ ($\theta = 0$). The
paper's Fig. 4 shows naive learners failing to settle while LOLA converges to the equilibrium.
"""),
    code("""
imp_runs = {
    "NL-Ex": train(imp, "nl", runs=RUNS, steps=STEPS, seed=SEED),
    "LOLA-Ex": train(imp, "lola", runs=RUNS, steps=STEPS, seed=SEED, eta=1.0),
}
plots.training_curves(imp_runs, agent=1)
"""),
    md(r"""
The naive learners' band stays wide (each run keeps circling, winning and losing in turn), LOLA's
band collapses onto zero. The distance to the equilibrium, $\max|p - 1/2|$ over both agents'
ten probabilities, along training:
"""),
    code("""
print("update " + "".join(f"{t:>8}" for t in range(0, STEPS + 1, STEPS // 4)))
for label, tr in imp_runs.items():
    d = nash_distance(tr.theta1, tr.theta2)           # (steps + 1, runs)
    print(f"{label:7}" + "".join(f"{np.median(d[t]):8.4f}" for t in range(0, STEPS + 1, STEPS // 4)),
          " (median over runs)")
"""),
    code("""
plots.final_policies(imp_runs)
"""),
    md(r"""
Naive learners end with nearly deterministic policies (probabilities near 0 or 1: they chase each
other around the boundary), LOLA agents at $1/2$ in every state. Why LOLA converges where NL does
not is a question of the stability of $\theta = 0$: notebook `03_matching_pennies_stability`
answers it exactly.

## Summary

* The exact LOLA-Ex and NL-Ex results of Table 3 reproduce: defection for NL and cooperation for
  LOLA in the IPD, zero average reward in IMP with LOLA near the Nash equilibrium.
* Our %TFT is lower than the paper's; the paper leaves the criterion undefined, and ours is strict.
* For the full command-line version: `lola-sym reproduce lola2018`.
"""),
]

# --------------------------------------------------------------------------- 02
NOTEBOOKS["02_derived_equations.ipynb"] = [
    md(r"""
# Reading the derived equations

`lola_sym` does not differentiate numerically: it *derives* the values and every learning rule
with sympy and compiles the result. This tutorial opens the derivation up:

1. the value of an iterated game as an exact ratio of polynomials, $V^i = N_i / D$;
2. the LOLA update on one-shot matching pennies in closed form (`derive.render`), checked against
   an independent hand derivation;
3. the LOLA update on the IPD as a straight-line program after common-subexpression elimination
   (CSE), the only readable form at that size;
4. evaluating the same update symbolically (50 digits), from the printed equations and from the
   compiled code, at one point.

**Notation.** Values $V^i$ are maximised, $p_{i,s} = \sigma(\theta_{i,s})$ and
$\bar p_{i,s} = 1 - p_{i,s}$; LOLA (Foerster et al. 2018, Eq. 4.4) updates
$\theta_i \leftarrow \theta_i + \delta g_i$ with
$g_1 = \nabla_1 V^1 + \eta\, (\nabla_2 V^1)^\top \nabla_1 \nabla_2 V^2$, where the shaping term
$\chi_1 = (\nabla_2 V^1)^\top \nabla_1 \nabla_2 V^2$ is the derivative of $\nabla_1 V^2$ along
the opponent's naive step.
"""),
    code(SETUP + """from lola_sym.report.derive import derivation, expanded_size, render

sp.init_printing(use_latex="mathjax")
"""),
    md(r"""
## 1. Values as $N/D$

By Cramer's rule, $V^i = p_0^\top (I - \gamma P)^{-1} r_i$ is a ratio of polynomials in the ten
probabilities and their complements (kept as separate symbols $\bar p$). For the IPD:
"""),
    code("""
ipd = games.ipd()
N1, N2, D = ipd.value_polynomials()
print("monomials in N1, N2, D:", [len(sp.Add.make_args(e)) for e in (N1, N2, D)])
print("symbols:", sorted(map(str, D.free_symbols)))
"""),
    md(r"""
The expressions are exact. With every probability $1/2$ each joint action is equally likely at
every step, so agent 1 earns the mean of its payoffs, $-3/2$ per step, and
$V^1 = -\tfrac{3}{2} / (1 - \gamma) = -\tfrac{75}{2}$, exactly:
"""),
    code("""
p1, pbar1 = ls.games.layout.prob_symbols(1)
p2, pbar2 = ls.games.layout.prob_symbols(2)
half = {s: sp.Rational(1, 2) for s in p1 + pbar1 + p2 + pbar2}
V1_half = (N1 / D).subs(half)
V1_half
"""),
    code("""
assert V1_half == sp.Rational(-75, 2)
"""),
    md(r"""
The same ratio at a random point agrees with the compiled value program (`game.value`) to
rounding. Note the convention: `p_2,CD` is agent 2's probability in *its own* state CD.
"""),
    code("""
rng = np.random.default_rng(0)
t1, t2 = rng.normal(size=5), rng.normal(size=5)
sig = lambda x: sp.Float(1) / (1 + sp.exp(-sp.Float(x, 30)))
point = {}
for p, pbar, t in ((p1, pbar1, t1), (p2, pbar2, t2)):
    for k in range(5):
        point[p[k]], point[pbar[k]] = sig(t[k]), 1 - sig(t[k])
exact = [float((N / D).evalf(30, subs=point)) for N in (N1, N2)]
print("N/D     :", exact)
print("compiled:", ipd.value(t1, t2).tolist())
assert np.allclose(exact, ipd.value(t1, t2), rtol=1e-13)
"""),
    md(r"""
## 2. LOLA on one-shot matching pennies, in closed form

In one-shot matching pennies (the SOS/COLA papers' version) agent 1 plays Heads with probability
$p_1 = \sigma(\theta_1)$ and its loss is $(2p_1 - 1)(2p_2 - 1)$, so $V^1 = -(2p_1-1)(2p_2-1) = -V^2$.
The whole derivation is small enough to print with every intermediate substituted.
`render` writes it as Markdown with LaTeX; the hyper-parameter $\eta$ stays a symbol.
"""),
    code("""
display(Markdown(render("matching_pennies", "lola")))
"""),
    md(r"""
The same quantities are available as sympy expressions through `derivation`. The factor
$2p_1(p_1 - 1) = -2\sigma'(\theta_1)$ is the sigmoid's derivative; the term in $\eta$ is the
shaping term.
"""),
    code("""
d = derivation("matching_pennies", "lola")
eta = sp.Symbol("eta", positive=True)
g1 = d.outputs["g_1"][0]
g1
"""),
    code("""
shaping = sp.factor(g1 - g1.subs(eta, 0))
shaping
"""),
    md(r"""
**Two checks.** With $\eta = 0$, LOLA is the naive learner, exactly; and the printed update
agrees with a derivation done by hand in plain sympy, differentiating
$V^1 = -(2\sigma(\theta_1) - 1)(2\sigma(\theta_2) - 1)$ in $\theta$ directly.
"""),
    code("""
nl = derivation("matching_pennies", "nl")
assert sp.simplify(g1.subs(eta, 0) - nl.outputs["g_1"][0]) == 0

th1, th2 = sp.symbols("theta_1 theta_2", real=True)
s = lambda t: 1 / (1 + sp.exp(-t))
V1 = -(2 * s(th1) - 1) * (2 * s(th2) - 1)
V2 = -V1
g1_hand = sp.diff(V1, th1) + eta * sp.diff(V1, th2) * sp.diff(V2, th1, th2)    # Eq. 4.4, one parameter each

p_1, p_2 = sp.symbols("p_1 p_2", positive=True)
g1_printed = g1.subs({p_1: s(th1), p_2: s(th2)})
residual = sp.simplify((g1_hand - g1_printed).rewrite(sp.exp))
print("hand derivation - printed form =", residual)
assert residual == 0
"""),
    md(r"""
At the Nash equilibrium $\theta = 0$ the derivation also gives the exact Jacobian of the update
field and its eigenvalues $-\eta/16 \pm i/4$: LOLA damps the rotation of the naive learner
(eigenvalues $\pm i/4$). Notebook 03 turns this into learning-rate thresholds.
"""),
    code("""
d.at_zero["jacobian"], dict(d.at_zero["eigenvalues"])
"""),
    md(r"""
## 3. LOLA on the IPD: the program (CSE) form

On the IPD nothing can be printed fully substituted: `expanded_size` counts the operations the
substituted LOLA update would have, without building it.
"""),
    code("""
f = ls.update_field(ipd, "lola", eta=1.0)     # derived and compiled (cached on disk)
prog = f.program
print(f"{len(prog.steps)} program steps, {prog.size()} operations; compiled after CSE: {f.size()}")
print(f"fully substituted: about {expanded_size(prog):.2e} operations")
"""),
    md(r"""
So the update is kept as a straight-line program with named intermediates: the policies, the
value program (Gaussian elimination of the $4 \times 4$ system), the value gradients
$\partial V^i / \partial \theta_{j,s}$ and LOLA's shaping terms $\chi_{i,s}$. The outputs are
literally Eq. 4.4, entry by entry:
"""),
    code("""
f.symbolic[0]
"""),
    md(r"""
`render` prints the whole program, section by section. The page is long (hundreds of lines), so
we show parts of it: the rule, the first lines of the program and the outputs.
"""),
    code("""
page = render("ipd", "lola")
sections = {s.split("\\n", 1)[0]: "## " + s for s in page.split("\\n## ")[1:]}
print(list(sections))
display(Markdown(sections["The rule"]))
program_lines = sections["Derived program (common-subexpression form)"].splitlines()
display(Markdown("\\n".join(program_lines[:40]) + "\\n- ..."))
display(Markdown(sections["Update"]))
"""),
    md(r"""
At $\theta = 0$ (every probability 1/2) the derivation is exact again, with $\eta$ symbolic:
"""),
    code("""
d_ipd = derivation("ipd", "lola")
g1_zero = d_ipd.at_zero["values"]["g_1"]
g1_zero
"""),
    md(r"""
This small vector explains the IPD result of notebook 01. The entries are $[s_0, CC, CD, DC, DD]$
in agent 1's own perspective. The naive part ($\eta = 0$) is $-3/2$ in every state: defect.
The shaping term adds $+\tfrac{87}{20}\eta$ in CC and DC (the opponent cooperated) and
$-\tfrac{87}{20}\eta$ in CD and DD (the opponent defected): LOLA pushes towards reciprocity, and
for $\eta > 10/29$ it already increases cooperation after cooperation at the very first step.
"""),
    code("""
threshold = sp.solve(g1_zero[1], eta)
print("eta at which LOLA's push in state CC changes sign:", threshold)
assert threshold == [sp.Rational(10, 29)]
"""),
    md(r"""
## 4. One point, four evaluations

The compiled field, the exact program evaluated with 50 significant digits, the printed CSE
lines evaluated in float64, and the pure-numpy backend should all agree to rounding.
"""),
    code("""
t1, t2 = np.random.default_rng(1).normal(size=(2, 5))
g_compiled = np.concatenate(f(t1, t2))
g_exact = np.concatenate(f.evaluate(t1, t2, dps=50))
g_printed = np.concatenate(d_ipd.evaluate(t1, t2, eta=1.0))
g_numpy = np.concatenate(ls.update_field(ipd, "lola", backend="numpy", eta=1.0)(t1, t2))
eps = np.finfo(float).eps
scale = np.max(np.abs(g_exact))
for name, g in [("compiled (C)", g_compiled), ("printed lines", g_printed), ("numpy backend", g_numpy)]:
    err = np.max(np.abs(g - g_exact))
    print(f"{name:14} max error {err:.1e} = {err / (eps * scale):6.1f} eps x max|g|")
    assert err < 1e3 * eps * scale
"""),
    md(r"""
The errors are a few tens of machine epsilons relative to the largest entry, the rounding of
some two thousand floating-point operations: the compiled code computes exactly the derived
equations.

## Summary

* Values are exact rational functions ($N/D$); at rational points they evaluate exactly.
* Small games print in closed form (`render`, `derivation(...).outputs`), large ones as a program
  with named intermediates (`field.program`, `field.symbolic`, the CSE section of `render`).
* The compiled field, the 50-digit program and the printed equations agree to rounding.
"""),
]

# --------------------------------------------------------------------------- 03
NOTEBOOKS["03_matching_pennies_stability.ipynb"] = [
    md(r"""
# Stability at the Nash equilibrium of matching pennies

The LOLA paper (Foerster et al. 2018, Sec. 4 and Fig. 4) reports that in matching pennies LOLA
converges to the Nash equilibrium, every probability $1/2$ ($\theta = 0$), while naive learners
circle around it. This tutorial explains the observation exactly, with the tools of the SOS paper
(Letcher et al. 2019):

* the update field $g(\theta) = (g_1, g_2)$ has Jacobian $J = \partial g / \partial\theta$ at the
  fixed point; the **flow** $\dot\theta = g$ is stable when every eigenvalue has negative real part;
* the **discrete update** $F(\theta) = \theta + \delta g(\theta)$ converges locally iff the
  spectral radius $\rho(I + \delta J) < 1$. For an eigenvalue $\lambda = a + ib$,
  $|1 + \delta\lambda| < 1 \iff 0 < \delta < -2a / |\lambda|^2$, so the supremum of convergent
  learning rates is $\delta^* = \min_\lambda -2\,\mathrm{Re}\,\lambda / |\lambda|^2$.

One-shot matching pennies: $p_i = \sigma(\theta_i)$, $V^1 = -(2p_1 - 1)(2p_2 - 1) = -V^2$.
Iterated matching pennies (IMP): memory-1 policies, $\gamma = 0.9$.
"""),
    code(SETUP + """from lola_sym import train
from lola_sym.report.reproduce import nash_distance

sp.init_printing(use_latex="mathjax")
"""),
    params("""
RUNS = 20      # training runs per check
STEPS = 200    # updates per run
DELTA = 1.0    # learning rate (the paper's)
ETA = 1.0      # LOLA's look-ahead (the paper's)
"""),
    md(r"""
## 1. Fixed points, exactly

`exact_fixed_points` solves $g = 0$ with sympy, in the probabilities $p_i = \sigma(\theta_i)$.
Besides the Nash equilibrium $(1/2, 1/2)$ the solutions include the four pure corners: limits of
saturated logits ($|\theta| \to \infty$), where every gradient vanishes.
"""),
    code("""
mp = games.matching_pennies()
ls.exact_fixed_points(mp, "nl"), ls.exact_fixed_points(mp, "lola")
"""),
    md(r"""
## 2. Exact Jacobians at $\theta = 0$

`exact_jacobian` evaluates the derived Jacobian at an exact point, leaving $\eta$ symbolic.
"""),
    code("""
J_nl = ls.exact_jacobian(mp, "nl", [0], [0])
J_lola = ls.exact_jacobian(mp, "lola", [0], [0])
J_nl, J_lola
"""),
    code("""
J_nl.eigenvals(), J_lola.eigenvals()
"""),
    md(r"""
The naive learner's Jacobian is a pure rotation: eigenvalues $\pm i/4$, a **centre**. The
discrete update multiplies distances to the equilibrium by $|1 \pm i\delta/4| > 1$ for every
$\delta > 0$: gradient steps spiral *outwards*. LOLA adds exactly $-\tfrac{\eta}{16} I$, a damping
that makes $\theta = 0$ a **stable focus** of the flow:
"""),
    code("""
eta = sp.Symbol("eta", positive=True)
assert J_lola - J_nl == -eta / 16 * sp.eye(2)
"""),
    md(r"""
## 3. Exact learning-rate thresholds

With $\lambda = -\eta/16 \pm i/4$,
$\delta^* = \dfrac{2\eta/16}{\eta^2/256 + 1/16} = \dfrac{32\eta}{\eta^2 + 16}$.
`exact_lr_threshold` does this for any symbolic rule (0 means that no learning rate converges):
"""),
    code("""
rules = ["nl", "la", "lola", "lola_full", "exact_lola", "hola", "lola2", "co"]
thresholds = {r: ls.exact_lr_threshold(mp, r, [0], [0]) for r in rules}
for r, t in thresholds.items():
    print(f"{r:11} delta* = {t}")
assert thresholds["lola"] == 32 * eta / (eta**2 + 16)
"""),
    md(r"""
* NL: 0, no learning rate converges.
* LA has the same Jacobian as LOLA at $\theta = 0$, and so does LOLA-2 (second-order LOLA).
* LOLA with both first-order terms (`lola_full`, the SOS paper's LOLA) and exact LOLA damp twice
  as much: $-\eta/8$, hence $16\eta/(\eta^2 + 4)$. HOLA (order 2) damps as much and also slows
  the rotation, to $(8 - \eta^2)/32$.
* Consensus optimisation's rate is called $\gamma$ (default 0.1): $32\gamma/(\gamma^2 + 16)$.

How large may the learning rate be, at best? LOLA's threshold is largest at $\eta = 4$, where
$\delta^* = 4$; at the paper's $\eta = 1$ it is $32/17 \approx 1.88$, so the paper's $\delta = 1$
is inside the stable range.
"""),
    code("""
lola_thr = thresholds["lola"]
best = sp.solve(sp.diff(lola_thr, eta), eta)
print("argmax over eta:", best, " max delta*:", lola_thr.subs(eta, best[0]),
      " at eta = 1:", lola_thr.subs(eta, 1))
"""),
    md(r"""
The numbers can be checked against the numeric classification (`classify`: eigenvalues of the
compiled Jacobian, spectral radius of $I + \delta J$) just below and just above the threshold:
"""),
    code("""
d_star = float(lola_thr.subs(eta, ETA))
for factor in (0.99, 1.01):
    st = ls.classify(mp, "lola", [0.0], [0.0], delta=factor * d_star, eta=ETA)
    print(f"delta = {factor:.2f} delta*: flow {st.flow}, rho(I + delta J) = {st.spectral_radius:.5f} -> {st.map}")
assert ls.classify(mp, "lola", [0.0], [0.0], delta=0.99 * d_star, eta=ETA).map == "converges"
assert ls.classify(mp, "lola", [0.0], [0.0], delta=1.01 * d_star, eta=ETA).map == "diverges"
"""),
    md(r"""
## 4. The report: every rule, one-shot game

`matching_pennies_report` collects, per rule: the flow classification, $\rho(I + \delta J)$ at the
chosen $\delta$, $\eta$, the numeric and exact thresholds, and a training check (runs from
$\mathcal N(0, 0.5^2)$; *converged* means $\max|p - 1/2| < 0.01$ at the end).
"""),
    code("""
rep = ls.matching_pennies_report(delta=DELTA, eta=ETA, runs=RUNS, steps=STEPS, include=("one-shot",))
print(rep.format())
"""),
    md(r"""
Theory and training agree row by row: every rule whose map converges at $\delta = 1$
($\rho < 1$) brings all runs to the equilibrium; NL (a centre) and consensus optimisation (stable
flow, but its threshold $\approx 0.2$ is below $\delta = 1$) do not. The combined rules (SOS,
SGA, CGD) have no symbolic form, so only their numeric threshold is given.
"""),
    code("""
for r in rep.rows:
    assert (r.map == "converges") == (r.converged_percent == 100), r.rule
"""),
    md(r"""
## 5. Iterated matching pennies

The same analysis on IMP (10 parameters). The exact Jacobian at $\theta = 0$ is $10 \times 10$, but
its eigenvalues are still in closed form: the one-shot pair for the first move and a
four-fold pair from the memory states.
"""),
    code("""
imp = games.imp()
zero = [0] * 5
ls.exact_jacobian(imp, "lola", zero, zero).eigenvals()
"""),
    code("""
imp_thr = ls.exact_lr_threshold(imp, "lola", zero, zero)
print("IMP, LOLA: delta* =", imp_thr, "=", float(imp_thr.subs(eta, ETA)), "at eta =", ETA)
print("IMP, NL:   delta* =", ls.exact_lr_threshold(imp, "nl", zero, zero))
"""),
    md(r"""
The memory states are the binding ones: $\delta^* \approx 1.52$ at $\eta = 1$, still above the
paper's $\delta = 1$. Training from near the equilibrium confirms it:
"""),
    code("""
for rule in ("nl", "lola"):
    tr = train(imp, rule, runs=RUNS, steps=STEPS, delta=DELTA, init_std=0.5, seed=0,
               **({"eta": ETA} if rule == "lola" else {}))
    d = nash_distance(tr.theta1[-1], tr.theta2[-1])
    print(f"{rule:5} median max|p - 1/2| after {STEPS} steps: {np.median(d):.2e}")
"""),
    md(r"""
## 6. Phase portraits: local is not global

On the one-shot game the field lives on the plane $(\theta_1, \theta_2)$. Fixed points are found
numerically (`find_fixed_points`, the corner limits are left out) and classified by the
eigenvalues of their Jacobian (`classify`); one training run is overlaid.
"""),
    code("""
from matplotlib.figure import Figure

x = y = np.linspace(-4, 4, 41)
fig = Figure(figsize=(12, 5.6), layout="constrained")
for ax, rule in zip(fig.subplots(1, 2), ("nl", "lola")):
    hyper = {"eta": ETA} if rule == "lola" else {}
    U, V = ls.vector_field(mp, rule, x, y, **hyper)
    points = [p for p in ls.find_fixed_points(mp, rule, starts=8, **hyper) if not p.boundary]
    marks = [dict(x=p.theta1[0], y=p.theta2[0],
                  label=ls.classify(mp, rule, p.theta1, p.theta2, **hyper).flow) for p in points]
    tr = train(mp, rule, theta1=[[1.5]], theta2=[[1.0]], steps=60, delta=DELTA, **hyper)
    path = np.stack([tr.theta1[:, 0, 0], tr.theta2[:, 0, 0]], axis=1)
    plots.phase_portrait(x, y, U, V, fixed_points=marks, trajectories=[path], ax=ax,
                         title=f"{rule.upper()} on matching pennies")
fig
"""),
    md(r"""
NL's streamlines are closed orbits around the centre and its discrete path spirals outwards;
LOLA's spiral into the stable focus. But the linear analysis is *local*. Far from the origin the
sigmoids saturate, the field becomes weak and nearly rotational, and the discrete map at
$\delta = 1$ can push a run outwards faster than LOLA's damping pulls it in. Training from every
point of a grid (`ls.basins`) shows which starts reach the equilibrium:
"""),
    code("""
grid = np.linspace(-4, 4, 33)
b = ls.basins(mp, "lola", x=grid, y=grid, points=[([0.0], [0.0])], labels=["Nash"],
              steps=5 * STEPS, delta=DELTA, eta=ETA, radius=1e-2)
print(f"{100 * np.mean(b.outcome == 0):.0f} % of the starts converge within {5 * STEPS} steps")
plots.basins(b.x, b.y, b.outcome, labels={0: "reaches theta = 0", -1: "not within 0.01"},
             fixed_points=[dict(x=0, y=0, label="stable")], title="LOLA, delta = eta = 1")
"""),
    md(r"""
Starts near the equilibrium (where the paper's $\mathcal N(0, 1)$ initialisation puts most runs)
converge; starts with nearly deterministic policies drift outwards instead, and longer training
does not change that at this learning rate. Far out, the outward push of a finite step along a
rotation (second order in the field) beats LOLA's damping, which decays faster as the sigmoids
saturate; smaller learning rates enlarge the basin. Local stability ($\rho(I + \delta J) < 1$)
guarantees convergence only in some neighbourhood of $\theta = 0$.

## Summary

* At the Nash equilibrium of matching pennies NL's Jacobian has eigenvalues $\pm i/4$ (a centre),
  so gradient steps of every size spiral away; LOLA adds $-\eta/16$ to the real part.
* LOLA's exact threshold is $\delta^* = 32\eta/(\eta^2 + 16)$ on the one-shot game (best: 4 at
  $\eta = 4$) and $\min(32\eta/(\eta^2+16),\, 512\eta/(81\eta^2 + 256))$ on IMP.
* Numeric classification, training and the exact thresholds agree; convergence is local.
"""),
]

# --------------------------------------------------------------------------- 04
NOTEBOOKS["04_rule_family.ipynb"] = [
    md(r"""
# The LOLA family side by side

LOLA has many relatives: rules that anticipate the opponent's learning step (LookAhead, LOLA with
one or both first-order terms, exact and higher-order LOLA, second-order LOLA), rules that fix
LOLA's convergence problems (SOS), and rules from the game-dynamics literature (consensus
optimisation, SGA, CGD). This tutorial puts them side by side:

* the registry and each rule's definition;
* identities that must hold: zero look-ahead is the naive learner; exact LOLA agrees with
  first-order LOLA to first order in $\eta$;
* `compare()` on Tandem, reproducing the SOS paper's result (LOLA's average loss $4/9$, SOS's $0$),
  and on the IPD;
* a small tournament (Table 4 of the LOLA paper).

**Notation.** In `lola_sym` values $V^i$ are maximised and $\theta_i \leftarrow \theta_i + \delta
g_i$; $\xi = (\nabla_1 V^1, \nabla_2 V^2)$, $H = \partial\xi / \partial\theta$ with off-diagonal
blocks $H_o$, $\chi_1 = (\nabla_2 V^1)^\top \nabla_1\nabla_2 V^2$, and $\eta$ is the step the agent
assumes its opponent takes. The SOS paper writes the same rules with losses $L_i = -V^i$ and
lookahead $\alpha$; e.g. its LOLA is $g = (I - \alpha H_o)\xi - \alpha\chi$ (both terms), the LOLA
paper's own Eq. 4.4 keeps only the shaping term, $\xi - \alpha\chi$.
"""),
    code(SETUP + """from lola_sym import train
from lola_sym.report.derive import derivation
"""),
    params("""
RUNS = 20            # runs per rule on the IPD
STEPS = 200          # updates on the IPD
TANDEM_RUNS = 300    # the SOS paper's number of Tandem runs
TANDEM_STEPS = 500
"""),
    md(r"""
## 1. The registry

Each rule carries its hyper-parameters with defaults, the highest derivative order of the values
it uses, and whether it is finished numerically from exact primitives (SOS's switch, SGA's sign,
CGD's linear solve).
"""),
    code("""
print(f"{'rule':10} {'title':58} {'hyper-parameters':30} order combined")
for name, r in ls.RULES.items():
    print(f"{name:10} {r.title:58} {str(r.hyper):30} {r.order:5} {'yes' if r.combine else ''}")
"""),
    md("Every rule has a generated page with its definition in both conventions; SOS for example:"),
    code("""
display(Markdown(ls.rule_page("sos").split("## On one-shot")[0]))
"""),
    md(r"""
## 2. Identities

**Zero look-ahead is the naive learner.** Exactly, on the one-shot Tandem and matching pennies
games, for every rule with a symbolic form (setting its rate to 0 in the derivation):
"""),
    code("""
rate = {"co": "gamma"}                      # the other symbolic rules call it eta
# the rules with one derived program (POLA, LOQA and Advantage Alignment are computed
# numerically on iterated games and have none)
symbolic = [n for n, r in ls.RULES.items()
            if r.combine is None and n != "nl" and "shaping_since_lola" not in r.tags]
for game in ("tandem", "matching_pennies"):
    nl = derivation(game, "nl").outputs
    for name in symbolic:
        out = derivation(game, name, **{rate.get(name, "eta"): 0}).outputs
        for k in ("g_1", "g_2"):
            assert all(sp.simplify(a - b) == 0 for a, b in zip(out[k], nl[k])), (game, name)
    print(f"{game}: {', '.join(symbolic)} all reduce to nl at rate 0")
"""),
    md(r"""
On the IPD the same holds numerically for the compiled fields, combined rules included (SGA's
rate is `lam`):
"""),
    code("""
ipd = games.ipd()
t1, t2 = np.random.default_rng(0).normal(size=(2, 64, 5))
g_nl = np.concatenate(ls.update_field(ipd, "nl")(t1, t2), axis=-1)
for name in ("la", "lola", "lola_full", "exact_lola", "co", "sos", "sga", "cgd"):
    hyper = {{"co": "gamma", "sga": "lam"}.get(name, "eta"): 0.0}
    g = np.concatenate(ls.update_field(ipd, name, **hyper)(t1, t2), axis=-1)
    err = np.max(np.abs(g - g_nl))
    print(f"{name:10} max |g - g_nl| = {err:.1e}")
    assert err <= 1e-12 * np.max(np.abs(g_nl))
"""),
    md(r"""
**Exact LOLA vs its Taylor expansion.** Exact LOLA differentiates
$V^1(\theta_1, \theta_2 + \eta\nabla_2 V^2)$ without expanding; LOLA with both first-order terms
is its first-order Taylor expansion in $\eta$. Their difference must therefore shrink like
$\eta^2$: halving $\eta$ divides it by about 4.
"""),
    code("""
t1, t2 = np.random.default_rng(1).normal(size=(2, 5))
prev = None
for e in (0.2, 0.1, 0.05, 0.025):
    diff = np.concatenate(ls.update_field(ipd, "exact_lola", eta=e)(t1, t2)) \\
         - np.concatenate(ls.update_field(ipd, "lola_full", eta=e)(t1, t2))
    size = np.linalg.norm(diff)
    print(f"eta = {e:5}: |exact - first order| = {size:.3e}" + (f"   ratio {prev / size:.2f}" if prev else ""))
    prev = size
"""),
    md(r"""
## 3. Tandem: the SOS paper's result

Tandem (Letcher et al. 2019): losses $L_1 = (x+y)^2 - 2x$, $L_2 = (x+y)^2 - 2y$. Every point of the
line $x + y = 1$ is a stable fixed point, where both losses average $s^2 - s = 0$ with
$s = x + y$. The SOS paper reports that LOLA (with lookahead $\alpha = 0.1$) *overshoots*, ending
with average loss $4/9$, while SOS reaches the line. `compare` trains every rule in self-play from
the *same* initial parameters (here the paper's $\mathcal N(0, 0.1^2)$ around the origin) and
reports the distance to the Nash line.
"""),
    code("""
tandem = games.tandem()
c_tandem = ls.compare(tandem, runs=TANDEM_RUNS, steps=TANDEM_STEPS, delta=0.1, eta=0.1, init_std=0.1)
print(c_tandem.format())
"""),
    code("""
loss = {o.label: -(o.r1_mean + o.r2_mean) / 2 for o in c_tandem.outcomes}    # values = -losses
for k in ("nl", "la", "lola", "lola_full", "exact_lola", "sos"):
    print(f"{k:11} average loss {loss[k]:+.6f}")
assert abs(loss["lola_full"] - 4 / 9) < 1e-6 and abs(loss["sos"]) < 1e-6
"""),
    md(r"""
The SOS paper's LOLA is `lola_full`: average loss $0.4444 = 4/9$; SOS (and NL, LA, CO, SGA, CGD)
end on the Nash line with average loss 0; HOLA and LOLA-2 overshoot less than LOLA. The exact fixed points explain it: LOLA's shaping term
shifts the line of fixed points to $x + y = s(\eta)$.
"""),
    code("""
eta = sp.Symbol("eta", positive=True)
x, y = sp.symbols("x y", real=True)
for name in ("lola_full", "lola", "exact_lola"):
    (sol,) = ls.exact_fixed_points(tandem, name)
    s = sp.simplify(sol[x] + y)                      # the fixed line is x + y = s
    avg = sp.nsimplify(sp.factor((s**2 - s).subs(eta, sp.Rational(1, 10))))
    print(f"{name:11} x + y = {s}   average loss at eta = 1/10: {avg}")
(sol,) = ls.exact_fixed_points(tandem, "lola_full")
assert sp.nsimplify(((sol[x] + y) ** 2 - (sol[x] + y)).subs(eta, sp.Rational(1, 10))) == sp.Rational(4, 9)
"""),
    md(r"""
So the $4/9$ of the SOS paper is exact: at $\alpha = \eta = 1/10$, `lola_full` converges to the
line $x + y = 4/3$. The LOLA paper's own rule (shaping term only) overshoots less, to
$x + y = 5/4$ (loss $5/16$), and exact LOLA lands in between. SOS keeps the fixed points of the
game by switching the shaping term off near them.

## 4. The IPD

The SOS paper also reports that on the IPD SOS and LOLA mostly reach tit-for-tat (loss near 1)
while LA, CO, SGA and NL mostly defect (near 2). With $\delta = \eta = 1$ (HOLA and LOLA-2 are
left out here only because they take longer to compile):
"""),
    code("""
ipd_rules = ["nl", "la", "lola", "lola_full", "exact_lola", "co", "sos", "sga", "cgd"]
c_ipd = ls.compare(ipd, ipd_rules, runs=RUNS, steps=STEPS, delta=1.0, eta=1.0)
print(c_ipd.format())
"""),
    code("""
plots.training_curves({k: c_ipd.trajectories[k] for k in ("nl", "la", "lola", "sos", "sga")},
                      agent="mean", spread="quartiles")
"""),
    md(r"""
The split of the SOS paper is there: the rules with the shaping term (LOLA in all its forms,
SOS) reach rewards near $-1$ with many TFT-like agents (column TFT%), the others (NL, LA, CO, SGA,
CGD) stay near mutual defection, $-2$. Anticipating the opponent's step (LA) is not enough;
*shaping* it is what produces reciprocity.
"""),
    code("""
shaping = [c_ipd[k].r1_mean for k in ("lola", "lola_full", "exact_lola", "sos")]
others = [c_ipd[k].r1_mean for k in ("nl", "la", "co", "cgd")]
assert min(shaping) > max(others)
"""),
    md(r"""
## 5. A small tournament

`tournament` trains every pair of rules (row = agent 1, column = agent 2) from the same initial
parameters, as in Table 4 of the LOLA paper (there $\delta = 0.5$; NL vs LOLA gave $-1.54$ for NL
and $-1.28$ for LOLA, NL/NL about $-1.99$, LOLA/LOLA $-1.04$ to $-1.06$).
"""),
    code("""
res = ls.tournament(ipd, rules=("nl", "la", "lola", "sos"), runs=RUNS, steps=STEPS, delta=0.5, seed=0)
print(res.format(std=True))
"""),
    md(r"""
Each entry is *row reward / column reward*. As in the paper, NL/NL defects ($\approx -2$),
LOLA/LOLA cooperates ($\approx -1.05$), and against NL both agents do better than NL/NL, LOLA more
so; in our runs LOLA exploits NL more than in the paper's table (the paper's entry is an average
over its own initialisations; the spread column shows how much the runs vary). LA, which does not
shape, gains nothing against NL, and SOS behaves like LOLA. The last column ranks the rules by
their mean reward over all opponents.
"""),
    code("""
score = res.score()
print({k: round(v, 3) for k, v in sorted(score.items(), key=lambda kv: -kv[1])})
assert score["lola"] > score["nl"] and score["sos"] > score["la"]
"""),
    md(r"""
## Summary

* Zero look-ahead reduces every rule to the naive learner (exactly for the symbolic ones).
* Exact LOLA and its first-order expansion differ by $O(\eta^2)$.
* Tandem: the SOS paper's LOLA (`lola_full`) ends at average loss exactly $4/9$, SOS at $0$.
* IPD: the rules with LOLA's shaping term cooperate, the others defect.
"""),
]

# --------------------------------------------------------------------------- 05
NOTEBOOKS["05_policy_gradient_check.ipynb"] = [
    md(r"""
# Checking gradient code against exact gradients

Sample-based learners such as LOLA-PG (Foerster et al. 2018, Sec. 4.3) estimate
$\nabla V$ and the second-order LOLA term from rollouts. Such code is easy to get subtly wrong
(a mislabelled state, a missing sigmoid factor, a sign) and hard to debug from noisy learning
curves. With the exact values this tutorial shows how to

1. check your own deterministic gradient code with `check_gradient`, and read its report when it
   fails;
2. check a Monte-Carlo policy-gradient estimate against the exact gradient, in units of its
   standard error;
3. measure bias and variance of estimators over batch sizes and horizons with `bias_variance`, and
   plot them with `plots.estimator_error`.

**Notation.** $V^i = p_0^\top (I - \gamma P)^{-1} r_i$; the REINFORCE estimator of
$\nabla_1 V^1$ from episodes of length $T$ is
$\sum_t \gamma^t\, \nabla_1 \log \pi_1(u^1_t \mid s_t)\, (R_t - b_t)$ with the return-to-go
$R_t = \sum_{l \ge t} \gamma^{l-t} r^1_l$ and a baseline $b_t$; a fixed horizon estimates the
truncated value $\sum_{t<T} \gamma^t\, \mathbb E[r_t]$, so it is biased for $V$ by exactly
$\gamma^T p_T^\top (I - \gamma P)^{-1} r$ (the *truncation bias*).
"""),
    code(SETUP + """from lola_sym.sampling.estimators import estimate
from lola_sym.sampling.rollouts import exact_targets, rollout
"""),
    params("""
POINTS = 8                       # random points in check_gradient
BATCH = 4000                     # episodes for one policy-gradient estimate
BATCH_SIZES = [100, 400, 1600]   # for bias_variance
HORIZONS = [10, 25, 100]
REPLICATES = 20                  # independent batches per setting
"""),
    md(r"""
## 1. Your own gradient code

Suppose you wrote the IPD value and its gradient yourself, in numpy, following the paper:
$M = (I - \gamma P)^{-1}$, $V = p_0^\top M r$, and by the derivative of the inverse
$\partial V / \partial\theta = (\partial p_0)^\top M r + \gamma\, p_0^\top M\, (\partial P)\, M r$.
The chain is written in agent 1's labels (CC, CD, DC, DD, agent 1's action first), so agent 2's
own-perspective parameters are permuted on the way in and its gradient on the way out.
"""),
    code('''
IPD = games.ipd()
GAMMA = float(IPD.gamma)
R = np.array([IPD.r1, IPD.r2], dtype=float)       # rewards over CC, CD, DC, DD (agent 1 first)
SWAP = [0, 1, 3, 2, 4]                            # own perspective <-> agent-1-first labels


def my_gradients(theta1, theta2, *, swap_back=True, sigmoid_factor=True):
    """(grad_1 V1, grad_2 V2) of the IPD, written from the paper's formulas."""
    p, q = 1 / (1 + np.exp(-theta1)), 1 / (1 + np.exp(-theta2[SWAP]))
    x, y = p[1:], q[1:]
    P = np.stack([x * y, x * (1 - y), (1 - x) * y, (1 - x) * (1 - y)], axis=1)
    p0 = np.array([p[0] * q[0], p[0] * (1 - q[0]), (1 - p[0]) * q[0], (1 - p[0]) * (1 - q[0])])
    M = np.linalg.inv(np.eye(4) - GAMMA * P)
    # d row / d x and d row / d y of [x y, x (1-y), (1-x) y, (1-x)(1-y)], per unit of x or y
    d_own = [lambda a, b: np.array([b, 1 - b, -b, b - 1]),      # agent 1 moves x
             lambda a, b: np.array([a, -a, 1 - a, a - 1])]      # agent 2 moves y
    probs = [p, q]
    grads = []
    for i in (0, 1):
        v, w = M @ R[i], p0 @ M
        g = np.zeros(5)
        pr = probs[i]
        factor = pr * (1 - pr) if sigmoid_factor else np.ones(5)   # d sigma / d theta
        g[0] = d_own[i](p[0], q[0]) @ v * factor[0]
        for s in range(4):
            dP = np.zeros((4, 4))
            dP[s] = d_own[i](x[s], y[s]) * factor[1 + s]
            g[1 + s] = GAMMA * w @ dP @ v
        grads.append(g)
    g1, g2 = grads
    return g1, (g2[SWAP] if swap_back else g2)
'''),
    md(r"""
`check_gradient` calls it at seeded random points and compares with the exact naive-learner
field $(\nabla_1 V^1, \nabla_2 V^2)$:
"""),
    code("""
report = ls.check_gradient(my_gradients, IPD, points=POINTS, seed=0)
print(report)
assert report.passed
"""),
    md(r"""
Agreement to about $10^{-14}$. Now two classic bugs. First, forgetting to translate agent 2's
gradient back to its own perspective:
"""),
    code("""
bad = ls.check_gradient(lambda a, b: my_gradients(a, b, swap_back=False), IPD, points=POINTS)
print(bad)
assert not bad.passed and bad.states_differing() == {2: {"CD": POINTS, "DC": POINTS}}
"""),
    md(r"""
The report names the agent and states that differ and guesses the cause. Second, differentiating
with respect to the probabilities instead of the logits (dropping $\sigma' = p(1-p)$):
"""),
    code("""
bad = ls.check_gradient(lambda a, b: my_gradients(a, b, sigmoid_factor=False), IPD, points=POINTS)
print(bad)
assert not bad.passed and any("probabilities, not logits" in h for h in bad.hints)
"""),
    md(r"""
`check_gradient(..., raise_on_fail=True)` raises a `GradientCheckError` (an `AssertionError`)
with the same report, which fits into a test suite. Other rules can be checked too, e.g.
`rule="lola", eta=1.0` for your own LOLA direction.

## 2. One policy-gradient estimate against the exact gradient

A Monte-Carlo estimate is never exactly right, so "close" must be measured in its own standard
error. With *geometric termination* (after every step the episode continues with probability
$\gamma$) the undiscounted return is an unbiased sample of the exact discounted value, so
REINFORCE is unbiased for $\nabla_1 V^1$ itself.
"""),
    code("""
rng = np.random.default_rng(1)
theta1, theta2 = rng.normal(size=5), rng.normal(size=5)
exact = exact_targets(IPD, theta1, theta2)
grad_exact = exact.grad(1, 1)
assert np.allclose(grad_exact, ls.update_field(IPD, "nl")(theta1, theta2)[0])   # two exact routes agree

ro = rollout(IPD, theta1, theta2, batch=BATCH, seed=0, termination="geometric")
for name in ("reinforce", "reinforce_baseline"):
    est = estimate(ro, "grad", name)
    z = (est.value - grad_exact) / est.stderr
    print(f"{name:19} z-scores per state: {np.round(z, 2)}   mean s.e. {est.stderr.mean():.3f}")
    assert np.all(np.abs(z) < 5)
"""),
    md(r"""
Every entry lies within a few standard errors of the exact gradient, as it should for an
unbiased estimator (a bug such as the ones above would show up as $|z|$ growing like
$\sqrt{\text{batch}}$). The baseline (a leave-one-out batch mean of the return per step) leaves the
estimator unbiased and shrinks its standard error.

## 3. Bias and variance across batch sizes and horizons

With a fixed horizon $T$ the estimators target the *truncated* value. `bias_variance` runs each
estimator on many independent batches and splits the error against the exact infinite-horizon
gradient into the Monte-Carlo part and the exact truncation bias.
"""),
    code("""
bv = ls.bias_variance(IPD, theta1, theta2, estimators=["reinforce", "reinforce_baseline"],
                      batch_sizes=BATCH_SIZES, horizons=HORIZONS, replicates=REPLICATES, seed=0)
print("RMS error vs exact gradient, (estimator, batch size, horizon):")
for e, name in enumerate(bv.estimators):
    print(f"  {name:19}", np.array2string(bv.rmse[e], precision=3).replace("\\n", "\\n" + " " * 22))
print("exact truncation bias of the gradient, mean |entry| per horizon:", np.round(np.abs(bv.truncation_bias).mean(axis=1), 4))
"""),
    code("""
plots.estimator_error(bv)
"""),
    md(r"""
**Reading the figure.** Left: the RMS error falls like $1/\sqrt N$ while the variance dominates,
then flattens at the truncation bias for short horizons ($T = 10$: $\gamma^{10} \approx 0.66$ of the
value is cut off). Longer horizons remove the bias but add variance to the plain estimator;
the baseline removes most of that variance. Right: the measured bias against the exact $V$
(bars, with $\pm 4$ standard errors) matches the exact truncation bias (stars): what is left
after truncation is pure noise. (DiCE, the third first-order estimator, coincides with REINFORCE
term by term without a baseline; the last line checks it on one batch.)
"""),
    code("""
mc_bias = bv.bias[:, -1]                                       # vs truncated target, largest batch
assert np.all(np.abs(mc_bias) < 5 * bv.stderr[:, -1] + 1e-12)  # unbiased for the truncated value
ro = rollout(IPD, theta1, theta2, batch=500, horizon=25, seed=3)
assert np.allclose(estimate(ro, "grad", "dice").value, estimate(ro, "grad", "reinforce").value)
"""),
    md(r"""
## 4. The LOLA-PG direction

LOLA-PG also needs the cross Hessian $\nabla_1\nabla_2 V^2$. Its estimate multiplies two noisy
quantities, so the product is biased at order $1/\text{batch}$ unless the two factors come from
independent halves of the batch (`independent=True`). The exact LOLA direction, the target, comes
from `exact_targets` (truncated to the horizon) and, for $T \to \infty$, from
`update_field(game, "lola")`. Same analysis, second-order estimators:
"""),
    code("""
bv2 = ls.bias_variance(IPD, theta1, theta2, quantity="lola", estimators=["lola_pg", "dice_baseline"],
                       batch_sizes=[BATCH // 4, BATCH], horizons=[100], replicates=REPLICATES // 2,
                       seed=0, eta=1.0, independent=True)
print("exact, T = inf :", np.round(ls.update_field(IPD, "lola", eta=1.0)(theta1, theta2)[0], 3))
print("exact, T = 100 :", np.round(bv2.target[0], 3))
for e, name in enumerate(bv2.estimators):
    print(f"{name:14} : mean {np.round(bv2.mean[e, -1, 0], 3)}  RMS error by batch size "
          f"{np.round(bv2.rmse[e, :, 0], 2)}  relative std {np.round(bv2.relative_std[e, :, 0], 2)}")
"""),
    code("""
assert np.all(bv2.rmse[1] < bv2.rmse[0])                                   # DiCE + baseline wins
assert np.all(np.abs(bv2.bias[:, -1]) < 5 * bv2.stderr[:, -1] + 1e-12)     # both unbiased for T = 100
"""),
    md(r"""
Both second-order estimators are unbiased for the truncated LOLA direction (with independent
halves), but far noisier than the first-order estimates at the same batch size; DiCE with its
baseline has a much smaller error than the plain LOLA-PG formula, which is what makes
sample-based LOLA practical.

## Summary

* `check_gradient` compares any gradient function with the exact field at seeded points, names
  the failing agent and states, and suggests the usual causes.
* Monte-Carlo estimates are checked in units of their standard error; `bias_variance` separates
  variance, Monte-Carlo bias and the exact truncation bias; `plots.estimator_error` draws it.
"""),
]


def build(names=None) -> list:
    written = []
    for name, cells in NOTEBOOKS.items():
        if names and not any(name.startswith(n) for n in names):
            continue
        for k, cell in enumerate(cells):
            cell.id = f"cell-{k:02d}"          # stable ids: rebuilding changes nothing
        nb = new_notebook(cells=cells, metadata=METADATA)
        nbformat.validate(nb)
        path = HERE / name
        nbformat.write(nb, path)
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(sys.argv[1:]):
        print("wrote", p.relative_to(HERE.parent))
