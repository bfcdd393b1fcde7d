r"""Parameter layout of memory-1 policies and converters to other layouts.

Each agent has 5 logits ordered ``[s0, CC, CD, DC, DD]``: the first move,
then one per previous joint action read from the agent's *own* perspective
(own action first). Agent 2's ``CD`` is therefore the joint state agent 1
calls ``DC``. With this convention tit-for-tat is the same vector for both
agents. The probability of the first action (C, or Heads) in a state is
``sigmoid(logit)``.

The LOLA release code stores ``[CC, CD, DC, DD, s0]`` and labels the states
agent-1-first for *both* agents; :func:`to_release` and :func:`from_release`
convert.

References
----------
.. [1] Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness.
   AAMAS. arXiv:1709.04326, Sec. 4.1.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from lola_sym._validation import as_params, check_real

__all__ = [
    "STATES", "N_PARAMS", "SWAP", "theta_symbols", "prob_symbols",
    "policy", "to_release", "from_release", "to_joint", "LOGIT_CLIP",
]

#: Names of the 5 parameters of a memory-1 policy, own perspective.
STATES = ("s0", "CC", "CD", "DC", "DD")
#: Number of logits per agent.
N_PARAMS = 5
#: Permutation between own-perspective and agent-1-first labels (an involution).
SWAP = (0, 1, 3, 2, 4)
#: Logit magnitude used for "saturated" named policies (sigmoid(30) = 1 - 9.4e-14).
LOGIT_CLIP = 30.0

_POLICIES = {
    # probability of cooperating in [s0, CC, CD, DC, DD], own perspective
    "tft": (1, 1, 0, 1, 0),
    "alld": (0, 0, 0, 0, 0),
    "allc": (1, 1, 1, 1, 1),
    "wsls": (1, 1, 0, 0, 1),
    "grim": (1, 1, 0, 0, 0),
}


def theta_symbols(agent: int) -> tuple:
    r"""The logit symbols :math:`\theta_{i,s}` of agent ``i`` in layout order.

    Examples
    --------
    >>> theta_symbols(1)
    (theta_1,s0, theta_1,CC, theta_1,CD, theta_1,DC, theta_1,DD)
    """
    _check_agent(agent)
    return tuple(sp.Symbol(f"theta_{agent},{s}", real=True) for s in STATES)


def prob_symbols(agent: int) -> tuple:
    r"""Probability symbols :math:`(p_{i,s})` and complements :math:`(\bar p_{i,s})`.

    ``p_{i,s}`` is agent ``i``'s probability of the first action in its own
    state ``s``; ``pbar_{i,s} = 1 - p_{i,s}`` is kept as a separate symbol.

    Examples
    --------
    >>> p, pbar = prob_symbols(2)
    >>> p[1], pbar[1]
    (p_2,CC, pbar_2,CC)
    """
    _check_agent(agent)
    p = tuple(sp.Symbol(f"p_{agent},{s}", positive=True) for s in STATES)
    pbar = tuple(sp.Symbol(f"pbar_{agent},{s}", positive=True) for s in STATES)
    return p, pbar


def _check_agent(agent):
    if isinstance(agent, (bool, np.bool_)) or not isinstance(agent, (int, np.integer)):
        raise TypeError(f"agent must be the int 1 or 2, got {type(agent).__name__} {agent!r}")
    if agent not in (1, 2):
        raise ValueError(f"agent must be 1 or 2, got {agent!r}")


def policy(name: str, logit: float = LOGIT_CLIP) -> np.ndarray:
    """Logits of a named deterministic memory-1 policy, saturated at ``logit``.

    Names: ``"tft"`` (tit-for-tat), ``"alld"``, ``"allc"``, ``"wsls"``
    (win-stay lose-shift), ``"grim"``. The same vector serves both agents.
    ``logit`` is a positive finite real number (not a string, bool or array).

    Examples
    --------
    >>> policy("tft", 5.0)
    array([ 5.,  5., -5.,  5., -5.])
    >>> policy("tft", "5")
    Traceback (most recent call last):
    ...
    TypeError: logit must be a real number, got str
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a policy name (str), one of {sorted(_POLICIES)}; "
                        f"got {type(name).__name__}")
    try:
        probs = _POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose one of {sorted(_POLICIES)}") from None
    logit = check_real(logit, "logit")
    if not logit > 0:
        raise ValueError(f"logit must be a positive finite number, got {logit!r}")
    return np.where(np.array(probs) == 1, logit, -logit).astype(float)


def to_joint(theta2) -> np.ndarray:
    """Agent 2's logits relabelled agent-1-first (``CD`` and ``DC`` exchanged).

    Examples
    --------
    >>> to_joint([0., 1., 2., 3., 4.])
    array([0., 1., 3., 2., 4.])
    """
    theta2 = as_params(theta2, "theta2")
    return theta2[..., list(SWAP)]


_RELEASE = (1, 2, 3, 4, 0)   # our index for each release position
_RELEASE_INV = (4, 0, 1, 2, 3)


def to_release(theta1, theta2) -> tuple:
    """Convert to the LOLA release code's layout.

    The release code stores ``[CC, CD, DC, DD, s0]`` with states labelled
    agent-1-first for both agents.

    Examples
    --------
    >>> t = policy("tft", 1.0)
    >>> a, b = to_release(t, t)
    >>> a
    array([ 1., -1.,  1., -1.,  1.])
    >>> b  # agent 2 cooperates after CC and CD in agent-1-first labels
    array([ 1.,  1., -1., -1.,  1.])
    """
    t1 = as_params(theta1, "theta1")
    t2 = to_joint(theta2)
    return t1[..., list(_RELEASE)], t2[..., list(_RELEASE)]


def from_release(theta1, theta2) -> tuple:
    """Inverse of :func:`to_release`.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.arange(5.0), np.arange(5.0, 10.0)
    >>> c, d = from_release(*to_release(a, b))
    >>> bool(np.array_equal(a, c) and np.array_equal(b, d))
    True
    """
    r1 = as_params(theta1, "theta1")
    r2 = as_params(theta2, "theta2")
    return r1[..., list(_RELEASE_INV)], to_joint(r2[..., list(_RELEASE_INV)])
