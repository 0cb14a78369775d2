/* Packet I/O with the controller (P4Runtime packet-out / packet-in). */
#ifndef NIDS_CONTROL_PACKET_IO_P4
#define NIDS_CONTROL_PACKET_IO_P4

// Ingress: a packet-out to a port leaves there as the controller wrote it, seen
// by no stage; a packet-out to port 0 runs the pipeline as if it came from the
// CPU port (a sweep packet of the SYN-offload stage, honoured only from there).
control PacketIoIngress(inout headers_t hdr, inout metadata_t meta,
                        inout standard_metadata_t standard_metadata) {
    apply {
        if (hdr.packet_out.isValid()) {
            if (hdr.packet_out.egress_port != 0) {
                standard_metadata.egress_spec = hdr.packet_out.egress_port;
                meta.is_sent_as_is = true;
            }
            hdr.packet_out.setInvalid();
        }
        meta.is_sweep = !meta.is_sent_as_is && hdr.syn_sweep.isValid()
            && standard_metadata.ingress_port == CPU_PORT;
    }
}

// Egress: what goes to the CPU port carries its ingress port.
control PacketIoEgress(inout headers_t hdr, in standard_metadata_t standard_metadata) {
    apply {
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = standard_metadata.ingress_port;
        hdr.packet_in._pad = 0;
    }
}

#endif  // NIDS_CONTROL_PACKET_IO_P4
