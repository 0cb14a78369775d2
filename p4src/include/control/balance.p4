/* Monitor clusters (docs/balance.md): the monitor port Forward chose stands for
 * a group of worker ports; each flow goes to one worker (or, through a
 * multicast group, to up to F), chosen by the controller's cluster table, else
 * by a symmetric hash of the flow key (5-tuple or 2-tuple: both directions of a
 * connection on one worker). A connection keeps the worker it started on
 * (`flow_workers`), however the clusters move later. meta.monitor_port becomes
 * the worker's port, so egress adds the records there.
 *
 * The flow key is flow_fields_t's, IPv4 and IPv6 alike (IPv4 in the low 32 bits of
 * the 128-bit addresses); IPv4 connections hash their 32-bit addresses. */
#ifndef NIDS_CONTROL_BALANCE_P4
#define NIDS_CONTROL_BALANCE_P4

control Balance(in flow_fields_t flow, in timestamp_t now, inout metadata_t meta,
                inout standard_metadata_t standard_metadata) {
    // Per sticky slot: tag (16) | multicast group (16) | worker (8) | in use (8).
    register<bit<48>>(BALANCE_FLOW_SLOTS) flow_workers;
    register<timestamp_t>(BALANCE_FLOW_SLOTS) flow_last_seen;
    direct_counter(CounterType.packets_and_bytes) cluster_hits;

    bit<32> worker_count = 0;
    bit<1> use_two_tuple = 0;
    bit<48> idle_us = 0;
    bool is_grouped = false;
    bit<8> worker = 0;
    bit<16> mcast_group = 0;
    bool is_chosen = false;

    action set_group(bit<8> workers, bit<1> two_tuple, bit<32> idle_timeout_us) {
        worker_count = (bit<32>)workers;
        use_two_tuple = two_tuple;
        idle_us = (bit<48>)idle_timeout_us;
        is_grouped = true;
    }

    table groups {
        key = { meta.monitor_port: exact @name("monitor_port"); }
        actions = { set_group; NoAction; }
        default_action = NoAction();
        size = BALANCE_GROUPS_SIZE;
    }

    action to_worker(bit<8> index) {
        worker = index;
        is_chosen = true;
        cluster_hits.count();
    }

    action to_workers(bit<8> index, bit<16> group) {
        worker = index;
        mcast_group = group;
        is_chosen = true;
        cluster_hits.count();
    }

    action no_cluster() {
        cluster_hits.count();
    }

    table clusters {
        key = {
            meta.monitor_port: exact @name("monitor_port");
            flow.src_addr: ternary @name("src_addr");
            flow.dst_addr: ternary @name("dst_addr");
            flow.protocol: ternary @name("protocol");
            flow.dst_port: range @name("dst_port");
        }
        actions = { to_worker; to_workers; no_cluster; }
        default_action = no_cluster();
        counters = cluster_hits;
        size = BALANCE_CLUSTERS_SIZE;
    }

    action set_worker_port(port_t port) {
        meta.monitor_port = port;
        standard_metadata.egress_spec = port;
    }

    table worker_ports {
        key = {
            meta.monitor_port: exact @name("monitor_port");
            worker: exact @name("worker");
        }
        actions = { set_worker_port; NoAction; }
        default_action = NoAction();
        size = BALANCE_WORKER_PORTS_SIZE;
    }

    ArchHashConnection() hash_flow;
    ArchHashConnection() hash_pick;
    ArchHashGroupKey() hash_tag;
    ArchHashConnection6() hash_flow6;
    ArchHashConnection6() hash_pick6;
    ArchHashGroupKey6() hash_tag6;
    ArchDigestNewFlow() report_new_flow;

    apply {
        port_t group_port = meta.monitor_port;
        groups.apply();
        if (is_grouped) {
            // The endpoints in a fixed order, so both directions hash alike, with the
            // protocol (the 5-tuple). IPv4 addresses sit in the low 32 bits of the
            // key's (upper bits zero) and hash as 32-bit values; IPv6 ones hash whole.
            ip_addr_t a_addr = flow.src_addr;
            ip_addr_t b_addr = flow.dst_addr;
            bit<16> a_port = flow.src_port;
            bit<16> b_port = flow.dst_port;
            if (a_addr > b_addr || (a_addr == b_addr && a_port > b_port)) {
                a_addr = flow.dst_addr;
                b_addr = flow.src_addr;
                a_port = flow.dst_port;
                b_port = flow.src_port;
            }
            bit<32> slot;
            bit<32> tag32;
            if (flow.is_ipv6 == 1) {
                hash_flow6.apply(a_addr, b_addr, a_port, b_port, flow.protocol,
                                 BALANCE_FLOW_SLOTS, slot);
                hash_tag6.apply(8w0 ++ flow.protocol ++ b_addr ++ a_addr ++ b_port ++ a_port
                                    ++ 32w0, 32w65536, tag32);
            } else {
                hash_flow.apply(a_addr[31:0], b_addr[31:0], a_port, b_port, flow.protocol,
                                BALANCE_FLOW_SLOTS, slot);
                hash_tag.apply(8w0 ++ flow.protocol ++ b_addr[31:0] ++ a_addr[31:0] ++ b_port
                                   ++ a_port ++ 32w0, 32w65536, tag32);
            }
            bit<16> tag = tag32[15:0];
            bit<48> held;
            timestamp_t last_seen;
            flow_workers.read(held, slot);
            flow_last_seen.read(last_seen, slot);
            bool is_held = held[7:0] != 0 && held[47:32] == tag;
            bool is_free = held[7:0] == 0 || now - last_seen > idle_us;
            // Every packet looks the cluster table up, so an entry's direct counter
            // measures the traffic of what it matches (the controller's per-cluster load
            // when it rebalances); a started connection keeps its worker all the same.
            clusters.apply();
            if (is_held) {
                worker = held[15:8];
                mcast_group = held[31:16];
            } else if (!is_chosen) {
                // 5-tuple: addresses, ports, protocol; 2-tuple: addresses only
                bit<16> pa = a_port;
                bit<16> pb = b_port;
                bit<8> proto = flow.protocol;
                if (use_two_tuple == 1) {
                    pa = 0;
                    pb = 0;
                    proto = 0;
                }
                bit<32> pick;
                if (flow.is_ipv6 == 1) {
                    hash_pick6.apply(a_addr, b_addr, pa, pb, proto, worker_count, pick);
                } else {
                    hash_pick.apply(a_addr[31:0], b_addr[31:0], pa, pb, proto, worker_count,
                                    pick);
                }
                worker = (bit<8>)pick;
            }
            if (is_held || is_free) {
                flow_workers.write(slot, tag ++ mcast_group ++ worker ++ 8w1);
                flow_last_seen.write(slot, now);
            }
            if (is_free && !is_held) {
                // a connection stored now: the controller's BLB learns of it
                balance_new_flow_t sample;
                sample.src_addr = flow.src_addr;
                sample.dst_addr = flow.dst_addr;
                sample.src_port = flow.src_port;
                sample.dst_port = flow.dst_port;
                sample.protocol = flow.protocol;
                sample.is_ipv6 = (bit<8>)flow.is_ipv6;
                sample.monitor_port = group_port;
                sample.worker = worker;
                sample.mcast_group = mcast_group;
                report_new_flow.apply(sample);
            }
            worker_ports.apply();
            if (mcast_group != 0) {
                standard_metadata.mcast_grp = mcast_group;
                meta.is_duplicated = true;
            }
        }
    }
}

// Egress: what each port the monitor traffic leaves on carried (a worker's load, read
// by `python -m controlplane balance`); every copy of a duplicated flow counts.
control WorkerLoad(in port_t port) {
    counter(BALANCE_PORT_COUNTER_SIZE, CounterType.packets_and_bytes) port_traffic;

    apply {
        port_traffic.count((bit<32>)port);
    }
}

#endif  // NIDS_CONTROL_BALANCE_P4
