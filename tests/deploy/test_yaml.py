"""yamllint over every YAML file in deploy/, with the committed `deploy/.yamllint.yaml`."""

from __future__ import annotations

from yamllint import linter
from yamllint.config import YamlLintConfig

from tests.deploy.conftest import DEPLOY

CONFIG = DEPLOY / ".yamllint.yaml"


def test_yamllint() -> None:
    config = YamlLintConfig(file=str(CONFIG))
    files = sorted({*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml"), CONFIG})
    assert len(files) > 10
    problems = [
        f"{path.relative_to(DEPLOY)}:{problem.line}:{problem.column}: {problem.message}"
        for path in files
        for problem in linter.run(path.read_text(encoding="utf-8"), config, str(path))
    ]
    assert not problems, "\n".join(problems)
