/* Egress, monitor port: what of a packet the switch built must not reach the
 * monitor. A held SYN that carries stats records leaves as the feedback header
 * alone (records-only frame), as does a duplicate the reassembly stage dropped
 * and a packet of a flow the prefilter stage cut;
 * a regenerated SYN (a clone of its trigger) is cut after its 40 bytes of IPv4
 * and TCP (60 of IPv6 and TCP), dropping the trigger's options, extension headers
 * and payload. */
#ifndef NIDS_CONTROL_MONITOR_CUT_P4
#define NIDS_CONTROL_MONITOR_CUT_P4

control MonitorCut(inout headers_t hdr, in metadata_t meta) {
    ArchTruncate() cut;

    apply {
        bool is_records_only = meta.syn.is_records_only || meta.reasm.is_records_only
            || meta.prefilter.is_records_only;
        if (is_records_only) {
            hdr.feedback.fixed.orig_ethertype = ETHERTYPE_NONE;
            hdr.ipv4.setInvalid();
            hdr.ipv4_options.pop_front(IPV4_OPTION_WORDS);
            hdr.ipv6.setInvalid();
            hdr.ipv6_ext.pop_front(IPV6_EXT_WORDS);
            hdr.tcp.setInvalid();
        }
        if (meta.syn.is_rewritten || is_records_only) {
            bit<32> length = 14;
            if (meta.syn.is_rewritten && meta.syn.regen.is_ipv6) {
                length = length + 40 + 20;
            } else if (meta.syn.is_rewritten) {
                length = length + 20 + 20;
            }
            if (hdr.vlan[0].isValid()) {
                length = length + 4;
            }
            if (hdr.vlan[1].isValid()) {
                length = length + 4;
            }
            if (hdr.feedback.fixed.isValid()) {
                length = length + (bit<32>)hdr.feedback.fixed.length;
            }
            cut.apply(length);
        }
    }
}

#endif  // NIDS_CONTROL_MONITOR_CUT_P4
