"""What connectors share: the delivery guarantee a sink offers (PyFlink's
``pyflink.datastream.connectors.base.DeliveryGuarantee``)."""
from __future__ import annotations

import enum


class DeliveryGuarantee(enum.Enum):
    """What a sink guarantees under failures.

    * ``EXACTLY_ONCE``: every record is visible once (transactions tied to checkpoints; the
      source must be replayable, e.g. Kafka or files).
    * ``AT_LEAST_ONCE``: no record is lost; some may be written twice after a failure.
    * ``NONE``: best effort: records may be lost or duplicated after a failure.
    """

    EXACTLY_ONCE = 0
    AT_LEAST_ONCE = 1
    NONE = 2


__all__ = ["DeliveryGuarantee"]
