from gaap.db.migrate import run_env
from gateway.audit import models as _audit  # noqa: F401  (register tables)
from gateway.invitations import models as _invitations  # noqa: F401
from gateway.keys import models as _keys  # noqa: F401
from gateway.models import Base
from gateway.sync import models as _sync  # noqa: F401
from gateway.tenants import models as _tenants  # noqa: F401

run_env(Base.metadata)
