/* P4_16 core library (P4_16 language specification, appendix "core.p4"),
 * written for the softswitch frontend. Declarations match p4c's
 * p4include/core.p4 so that P4Info names and annotations agree. */

#ifndef _CORE_P4_
#define _CORE_P4_

/// Standard error codes. Programs may declare more.
error {
    NoError,                /// no error
    PacketTooShort,         /// not enough bits in the packet for 'extract'
    NoMatch,                /// 'select' expression has no matches
    StackOutOfBounds,       /// reference to an invalid element of a header stack
    HeaderTooShort,         /// extracting too many bits into a varbit field
    ParserTimeout,          /// parser execution time limit exceeded
    ParserInvalidArgument   /// parser operation called with an unsupported value
}

extern packet_in {
    /// Read a fixed-size header from the packet and advance the cursor.
    void extract<T>(out T hdr);
    /// Read a header with one varbit field of the given size in bits.
    void extract<T>(out T variableSizeHeader,
                    in bit<32> variableFieldSizeInBits);
    /// Read bits without advancing the cursor.
    T lookahead<T>();
    /// Advance the cursor by this many bits.
    void advance(in bit<32> sizeInBits);
    /// Packet length in bytes.
    bit<32> length();
}

extern packet_out {
    /// Append a header (or a struct/stack of headers) if valid.
    void emit<T>(in T hdr);
}

/// In a parser: if check is false, set the parser error and go to reject.
extern void verify(in bool check, in error toSignal);

/// A compile-time check: the program is refused when check is false.
extern bool static_assert(bool check, string message);
extern bool static_assert(bool check);

/// Built-in action that does nothing.
@noWarn("unused")
action NoAction() {}

/// Standard match kinds for table keys.
match_kind {
    exact,
    ternary,
    lpm
}

#endif  /* _CORE_P4_ */
