"""A loopback DNS stand-in for the demo: answers A queries for the platform names with 127.0.0.1.

Just enough of a resolver for the agent's DNS probe to measure something real
on loopback; every other name gets NXDOMAIN. Nothing is forwarded anywhere.
"""

from __future__ import annotations

import asyncio

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class _StandIn(asyncio.DatagramProtocol):
    def __init__(self, names: set[str]):
        self.names = {n.rstrip(".").lower() for n in names}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return
        response = dns.message.make_response(query)
        question = query.question[0] if query.question else None
        # A question is an RRset with no records, so it is falsy: test for None.
        name = question.name.to_text().rstrip(".").lower() if question is not None else ""
        if question is not None and name in self.names:
            if question.rdtype == dns.rdatatype.A:
                response.answer.append(
                    dns.rrset.from_text(question.name, 60, "IN", "A", "127.0.0.1"))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        if self.transport is not None:
            self.transport.sendto(response.to_wire(), addr)


async def start_resolver(names: set[str], host: str = "127.0.0.1"
                         ) -> tuple[asyncio.DatagramTransport, int]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _StandIn(names),
                                                       local_addr=(host, 0))
    return transport, int(transport.get_extra_info("sockname")[1])
