from gaap.db.migrate import run_env
from services.pay.accounts import models as _accounts  # noqa: F401  (register tables)
from services.pay.agreements import models as _agreements  # noqa: F401
from services.pay.disputes import models as _disputes  # noqa: F401
from services.pay.idempotency import models as _idempotency  # noqa: F401
from services.pay.links import models as _links  # noqa: F401
from services.pay.models import Base
from services.pay.payments import models as _payments  # noqa: F401
from services.pay.receipts import models as _receipts  # noqa: F401
from services.pay.refunds import models as _refunds  # noqa: F401
from services.pay.webhooks import models as _webhooks  # noqa: F401

run_env(Base.metadata)
