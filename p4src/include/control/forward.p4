/* Which port the monitor sits on, per ingress port (a tap: traffic in, copy
 * out to the monitor). Ports with no entry drop their traffic. */
#ifndef NIDS_CONTROL_FORWARD_P4
#define NIDS_CONTROL_FORWARD_P4

control Forward(in port_t ingress_port, inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    action send_to_monitor(port_t port) {
        standard_metadata.egress_spec = port;
        meta.monitor_port = port;
        meta.has_monitor = true;
    }

    action drop() {
        mark_to_drop(standard_metadata);
    }

    table monitor_ports {
        key = { ingress_port: exact @name("ingress_port"); }
        actions = { send_to_monitor; drop; }
        default_action = drop();
        size = MONITOR_PORTS_SIZE;
    }

    apply {
        monitor_ports.apply();
    }
}

#endif  // NIDS_CONTROL_FORWARD_P4
