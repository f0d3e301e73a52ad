// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.virtio.p9;

import static dev.vmm4j.virtio.p9.P9Messages.*;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * JFR: one 9P request a {@link P9Device} served, timed from reading the T-message out of the chain to writing the
 * R-message into it. When no recording enables it, the event object never leaves the device's serve method and the
 * JIT removes it.
 */
@Name("dev.vmm4j.P9Request")
@Label("9P Request")
@Category({"vmm4j", "virtio", "9P"})
@Description("A 9P2000.L request on a shared directory, from reading the T-message to writing the reply")
@StackTrace(false)
final class P9RequestEvent extends jdk.jfr.Event {
    @Label("Mount Tag")
    @Description("The share's mount tag")
    String mountTag;

    @Label("Message")
    @Description("The T-message's type, such as Twalk")
    String message;

    @Label("Request Bytes")
    @DataAmount
    long requestBytes;

    @Label("Reply Bytes")
    @DataAmount
    long replyBytes;

    @Label("Error")
    @Description("The errno name the server answered with Rlerror, such as ENOENT; absent when the request succeeded")
    String error;

    /** T-message names by type; an R-message's type is its T-message's plus one. */
    private static final String[] NAMES = new String[256];

    static {
        NAMES[TSTATFS] = "Tstatfs";
        NAMES[TLOPEN] = "Tlopen";
        NAMES[TLCREATE] = "Tlcreate";
        NAMES[TSYMLINK] = "Tsymlink";
        NAMES[TMKNOD] = "Tmknod";
        NAMES[TRENAME] = "Trename";
        NAMES[TREADLINK] = "Treadlink";
        NAMES[TGETATTR] = "Tgetattr";
        NAMES[TSETATTR] = "Tsetattr";
        NAMES[TXATTRWALK] = "Txattrwalk";
        NAMES[TXATTRCREATE] = "Txattrcreate";
        NAMES[TREADDIR] = "Treaddir";
        NAMES[TFSYNC] = "Tfsync";
        NAMES[TLOCK] = "Tlock";
        NAMES[TGETLOCK] = "Tgetlock";
        NAMES[TLINK] = "Tlink";
        NAMES[TMKDIR] = "Tmkdir";
        NAMES[TRENAMEAT] = "Trenameat";
        NAMES[TUNLINKAT] = "Tunlinkat";
        NAMES[TVERSION] = "Tversion";
        NAMES[TAUTH] = "Tauth";
        NAMES[TATTACH] = "Tattach";
        NAMES[TFLUSH] = "Tflush";
        NAMES[TWALK] = "Twalk";
        NAMES[TOPEN] = "Topen";
        NAMES[TCREATE] = "Tcreate";
        NAMES[TREAD] = "Tread";
        NAMES[TWRITE] = "Twrite";
        NAMES[TCLUNK] = "Tclunk";
        NAMES[TREMOVE] = "Tremove";
        NAMES[TSTAT] = "Tstat";
        NAMES[TWSTAT] = "Twstat";
        NAMES[TLERROR] = "Tlerror";
    }

    /** {@return the name of the message type {@code type}, such as {@code Twalk}, or {@code type N}} */
    static String messageName(int type) {
        String name = NAMES[type & 0xff];
        return name != null ? name : "type " + (type & 0xff);
    }
}
