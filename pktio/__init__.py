"""Packet I/O shared by the switch and the controller: capture files and raw sockets.

A leaf package: it imports nothing of the project, so both the target (softswitch's
port layer) and the controller (``watch``) can use it without importing each other.

- :mod:`.pcap`: classic pcap reader and writer, pcapng reader;
- :mod:`.afpacket`: a raw AF_PACKET socket on one Linux interface, and the interface
  look-ups (index, up/down) a port needs to follow its link.
"""
