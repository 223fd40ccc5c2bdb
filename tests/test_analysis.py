"""The shared analysis layer, case by case: names through imports, kinds through variables,
branches, loops, tuple unpacking and kind-preserving steps, and loss objects."""

from __future__ import annotations

import textwrap

import pytest

from logitlint.engine import CheckSettings, check_source


def findings(source: str, prefilter: bool = True) -> list[str]:
    source = textwrap.dedent(source)
    return [d.code for d in check_source(source, "case.py", CheckSettings(prefilter=prefilter))]


CASES = {
    # --- names -----------------------------------------------------------------------------------
    "alias torch as th": (
        "import torch as th\nloss = th.nn.functional.cross_entropy(th.softmax(x, 1), y)\n",
        ["LGT101"],
    ),
    "from torch.nn import functional as F": (
        "from torch.nn import functional as F\nloss = F.cross_entropy(F.softmax(x, 1), y)\n",
        ["LGT101"],
    ),
    "from-imported functions": (
        "from torch.nn.functional import softmax as sm, cross_entropy as ce\nloss = ce(sm(x, 1), y)\n",
        ["LGT101"],
    ),
    "from torch import nn": (
        "from torch import nn\nloss = nn.CrossEntropyLoss()(nn.functional.softmax(x, dim=1), y)\n",
        ["LGT101"],
    ),
    "F from another framework": ("import paddle.nn.functional as F\nloss = F.cross_entropy(F.softmax(x, 1), y)\n", []),
    "jax.nn": ("from jax import nn\nloss = nn.softmax(x)\n", []),
    "F rebound at module level": (
        "import torch.nn.functional as F\nF = None\ndef f(x, y):\n    return F.cross_entropy(F.softmax(x, 1), y)\n",
        [],
    ),
    "F imported locally from elsewhere": (
        "import torch.nn.functional as F\ndef f(x, y):\n    import paddle.nn.functional as F\n    return F.cross_entropy(F.softmax(x, 1), y)\n",
        [],
    ),
    "no imports at all": ("loss = F.cross_entropy(F.softmax(x, 1), y)\n", []),
    # --- values ----------------------------------------------------------------------------------
    "same kind on both branches": (
        """
        import torch.nn.functional as F
        def f(x, y, c):
            if c:
                p = F.softmax(x, 1)
            else:
                p = F.softmax(2 * x, 1)
            return F.cross_entropy(p, y)
        """,
        ["LGT101"],
    ),
    "kinds disagree across branches": (
        """
        import torch.nn.functional as F
        def f(x, y, c):
            if c:
                p = F.softmax(x, 1)
            else:
                p = x
            return F.cross_entropy(p, y)
        """,
        [],
    ),
    "a branch that returns does not merge": (
        """
        import torch.nn.functional as F
        def f(x, y, c):
            if c:
                p = F.softmax(x, 1)
            else:
                raise ValueError(c)
            return F.cross_entropy(p, y)
        """,
        ["LGT101"],
    ),
    "reassignment ends the fact": (
        "import torch.nn.functional as F\np = F.softmax(x, 1)\np = model(x)\nloss = F.cross_entropy(p, y)\n",
        [],
    ),
    "reassigned later in the loop": (
        """
        import torch.nn.functional as F
        def f(xs, y):
            p = F.softmax(xs[0], 1)
            for x in xs:
                loss = F.cross_entropy(p, y)
                p = x
        """,
        [],
    ),
    "inside a training loop": (
        """
        import torch
        import torch.nn.functional as F
        crit = torch.nn.CrossEntropyLoss()
        for x, y in loader:
            probs = F.softmax(model(x), dim=1)
            loss = crit(probs, y)
        """,
        ["LGT101"],
    ),
    "tuple unpacking": (
        "import torch.nn.functional as F\nlogits, probs = x, F.softmax(x, 1)\nloss = F.cross_entropy(probs, y)\n",
        ["LGT101"],
    ),
    "unpacking the other element": (
        "import torch.nn.functional as F\nlogits, probs = x, F.softmax(x, 1)\nloss = F.cross_entropy(logits, y)\n",
        [],
    ),
    "kind-preserving steps": (
        "import torch.nn.functional as F\np = F.softmax(x, -1)\nloss = F.cross_entropy(p.view(-1, 10).float().to(dev), y.view(-1))\n",
        ["LGT101"],
    ),
    "masking ends the fact": (
        "import torch.nn.functional as F\np = F.softmax(x, 1)\np[m] = 0\nloss = F.cross_entropy(p, y)\n",
        [],
    ),
    "in-place arithmetic ends the fact": (
        "import torch.nn.functional as F\np = F.softmax(x, 1)\np.mul_(w)\nloss = F.cross_entropy(p, y)\n",
        [],
    ),
    "arithmetic ends the fact": (
        "import torch.nn.functional as F\nloss = F.cross_entropy(F.softmax(x, 1) * 2, y)\n",
        [],
    ),
    "walrus": (
        "import torch.nn.functional as F\nif (p := F.softmax(x, 1)) is not None:\n    loss = F.cross_entropy(p, y)\n",
        ["LGT101"],
    ),
    "closure reads the enclosing variable": (
        """
        import torch.nn.functional as F
        def outer(x, y):
            p = F.softmax(x, 1)
            def inner():
                return F.cross_entropy(p, y)
            return inner()
        """,
        ["LGT101"],
    ),
    "try/except merge": (
        """
        import torch.nn.functional as F
        def f(x, y):
            try:
                p = F.softmax(x, 1)
            except Exception:
                p = x
            return F.cross_entropy(p, y)
        """,
        [],
    ),
    "probabilities as the target are fine": (
        "import torch.nn.functional as F\nloss = F.cross_entropy(s, F.softmax(t, 1))\n",
        [],
    ),
    "names say nothing": ("import torch.nn.functional as F\nprobs = model(x)\nloss = F.cross_entropy(probs, y)\n", []),
    "code in strings and comments": (
        'import torch.nn.functional as F\n"""F.cross_entropy(F.softmax(x, 1), y)"""\n# F.cross_entropy(F.softmax(x, 1), y)\ns = "F.cross_entropy(F.softmax(x, 1), y)"\n',
        [],
    ),
    # --- loss objects ----------------------------------------------------------------------------
    "module-level loss object used in a function": (
        """
        import torch.nn as nn
        criterion = nn.CrossEntropyLoss().cuda()
        def train(model, x, y):
            return criterion(model(x).softmax(dim=1), y)
        """,
        ["LGT101"],
    ),
    "loss object reassigned to something else": (
        """
        import torch.nn as nn
        criterion = nn.CrossEntropyLoss()
        criterion = FocalLoss()
        def train(model, x, y):
            return criterion(model(x).softmax(dim=1), y)
        """,
        [],
    ),
    "self attribute set in another method": (
        """
        import torch
        from torch import nn
        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 3)
                self.softmax = nn.Softmax(dim=1)
                self.loss_fn = nn.CrossEntropyLoss()
            def forward(self, x, y=None):
                out = self.softmax(self.fc(x))
                if y is not None:
                    return self.loss_fn(out, y)
                return out
        """,
        ["LGT101"],
    ),
    "self attribute that is not a torch loss": (
        """
        import torch.nn.functional as F
        class T:
            def __init__(self, cfg):
                self.crit = build_loss(cfg)
            def step(self, x, y):
                return self.crit(F.softmax(x, 1), y)
        """,
        [],
    ),
    "default argument loss object": (
        "import torch.nn as nn\nimport torch.nn.functional as F\ndef train(x, y, criterion=nn.CrossEntropyLoss()):\n    return criterion(F.softmax(x, 1), y)\n",
        ["LGT101"],
    ),
    "a lambda criterion": (
        "import torch.nn.functional as F\ncriterion = lambda a, b: ((a - b) ** 2).mean()\nloss = criterion(F.softmax(x, 1), y)\n",
        [],
    ),
    "a custom loss class": (
        "import torch.nn.functional as F\nclass Focal:\n    def __call__(self, a, b):\n        return a\ncriterion = Focal()\nloss = criterion(F.softmax(x, 1), y)\n",
        [],
    ),
    "criterion chosen from config": (
        "import torch.nn as nn\nimport torch.nn.functional as F\ncriterion = nn.CrossEntropyLoss() if cfg.ce else nn.MSELoss()\nloss = criterion(F.softmax(x, 1), y)\n",
        [],
    ),
    "negated nll gathers p[t]": ("import torch.nn.functional as F\np_t = -F.nll_loss(F.softmax(z, 1), t)\n", []),
    # --- the other losses ------------------------------------------------------------------------
    "double sigmoid through an nn.Sigmoid attribute": (
        """
        from torch import nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.sig = nn.Sigmoid()
                self.criterion = nn.BCEWithLogitsLoss()
            def training_step(self, out, y):
                return self.criterion(self.sig(out), y)
        """,
        ["LGT106"],
    ),
    "distillation with temperature is right": (
        """
        import torch.nn.functional as F
        def distill(s, t, T=4.0):
            return F.kl_div(F.log_softmax(s / T, dim=1), F.softmax(t / T, dim=1), reduction="batchmean") * T * T
        """,
        [],
    ),
    "kl on probabilities": (
        """
        import torch.nn.functional as F
        def distill(s, t, T=4.0):
            p_s = F.softmax(s / T, dim=1)
            p_t = F.softmax(t / T, dim=1)
            return F.kl_div(p_s, p_t, reduction="batchmean")
        """,
        ["LGT104"],
    ),
    "bce on probabilities from elsewhere": ("import torch.nn as nn\nloss = nn.BCELoss()(model(x), y)\n", []),
    "exp of log-probabilities into nll": (
        "import torch.nn.functional as F\nlp = F.log_softmax(x, 1)\nloss = F.nll_loss(lp.exp(), y)\n",
        ["LGT103"],
    ),
    "numpy and math look-alikes": (
        "import math\nimport numpy as np\na = np.log(1 + x)\nb = math.exp(y) - 1\nc = np.log(np.sum(np.exp(z)))\n",
        [],
    ),
    "stable log-sum-exp by hand": (
        "import torch\nm = x.max(dim=1, keepdim=True).values\nlse = m + torch.log(torch.exp(x - m).sum(dim=1, keepdim=True))\n",
        [],
    ),
}


@pytest.mark.parametrize("prefilter", [True, False], ids=["prefilter", "full-parse"])
@pytest.mark.parametrize("name", list(CASES))
def test_case(name, prefilter):
    """A case asserts the codes it is about, so a new rule that also fires on a positive case does
    not break it; a negative case (a look-alike) must stay silent for every rule."""
    source, expected = CASES[name]
    found = findings(source, prefilter)
    assert [code for code in found if code in expected] == expected
    if not expected:
        assert found == []
