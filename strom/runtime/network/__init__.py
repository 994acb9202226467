"""Channels between processes: framing, transport and credit-based flow control.

A process's :class:`NetworkEnvironment` listens on a TCP port (loopback by default) and holds
one connection per peer process it sends to. Every channel whose two ends live in different
processes is a :class:`RemoteOutputChannel` at the producer and a :class:`RemoteInputChannel`
at the consumer, matched by the channel's number from the deployment plan. The framing
(:mod:`.frames`) is independent of the transport, so the same channels can later run over
connections that another system (Ray) sets up.
"""
from strom.runtime.network.channels import RemoteInputChannel, RemoteOutputChannel
from strom.runtime.network.environment import NetworkEnvironment

__all__ = ["NetworkEnvironment", "RemoteInputChannel", "RemoteOutputChannel"]
