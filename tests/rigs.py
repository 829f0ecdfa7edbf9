"""The session's shared rigs, each registered as a fixture once, for the whole suite (a plugin of `tests/conftest.py`).

pytest makes a fixture definition of every module that holds a fixture function, imported or not, and caches a
session fixture per definition: a browser test module that imported `notify_rig` got a second notify (two
databases, two servers, its templates made again) beside the notify tests' own. Registered here and nowhere else,
each rig is started once per xdist worker (each parametrised rig once per parameter) and every test shares it.

The rigs' code stays beside the tests of their component; it is plain functions there, and only this module makes
fixtures of them. Do not import these names into a test module or conftest: ask for them as parameters.
"""

from __future__ import annotations

import pytest

from tests.gateway import conftest as gateway
from tests.gateway.console import conftest as console
from tests.gateway.console import inbox_support
from tests.identity import conftest as identity
from tests.notify import conftest as notify
from tests.notify.delivery import conftest as delivery
from tests.notify.documents import rig as documents
from tests.pay import conftest as pay

BACKENDS = ["sqlite", "postgresql"]

upstreams = pytest.fixture(scope="session", name="upstreams")(gateway.upstreams)
notify_rig = pytest.fixture(scope="session", name="notify_rig")(notify.notify_rig)
sms_fake = pytest.fixture(scope="session", name="sms_fake")(notify.sms_fake)
email_sink = pytest.fixture(scope="session", name="email_sink")(delivery.email_sink)
files_rig = pytest.fixture(scope="session", name="files_rig")(documents.files_rig)
code_template = pytest.fixture(scope="session", name="code_template")(identity.code_template)
identity_templates = pytest.fixture(scope="session", name="identity_templates")(identity.identity_templates)
identity_rig = pytest.fixture(scope="session", params=BACKENDS, name="identity_rig")(identity.identity_rig)
pay_rig = pytest.fixture(scope="session", params=BACKENDS, name="pay_rig")(pay.pay_rig)
console_rig = pytest.fixture(scope="session", name="console_rig")(console.console_rig)
inbox_console = pytest.fixture(scope="session", name="inbox_console")(inbox_support.inbox_console)
