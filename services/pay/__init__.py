"""Pay: card payments wire-compatible with GOV.UK Pay's v1 API (see docs/pay.md).

Importing the package registers the card-number log mask with the kernel's logging, before any pay process
configures it: `gaap serve pay` and `gaap worker pay` load pay's settings (and so this package) first.
"""

from gaap.logging import add_processor
from services.pay.logmask import mask_card_numbers

add_processor(mask_card_numbers)
