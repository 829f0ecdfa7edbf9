from gaap.db.migrate import run_env
from services.notify.models import Base
from services.notify.notifications import models as _notifications  # noqa: F401  (register tables)
from services.notify.templates import models as _templates  # noqa: F401
from services.notify.tenancy import models as _tenancy  # noqa: F401

run_env(Base.metadata)
