"""Sources the notes of several rule modules cite, written once.

Equation and section numbers are given by each rule's notes, as the project's
reference notes (``reference/lola2018.md``, ``reference/opponent_shaping.md``)
and the rule modules quote them.
"""

__all__ = ["LOLA2018", "SOS2019", "COLA2022"]

LOLA2018 = ("Foerster, J. et al. (2018). Learning with Opponent-Learning Awareness. AAMAS. "
            "arXiv:1709.04326")
SOS2019 = ("Letcher, A. et al. (2019). Stable Opponent Shaping in Differentiable Games. ICLR. "
           "arXiv:1811.08469")
COLA2022 = ("Willi, T. et al. (2022). COLA: Consistent Learning with Opponent-Learning "
            "Awareness. ICML. arXiv:2203.04098")
