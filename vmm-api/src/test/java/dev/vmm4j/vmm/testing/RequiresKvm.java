// SPDX-License-Identifier: Apache-2.0
package dev.vmm4j.vmm.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Marks a test (class or method) that runs guests on {@code /dev/kvm}: tagged {@code kvm}, and skipped with the
 * reason where KVM cannot be used, unless {@code -Dvmm4j.requireKvm=true} (as CI sets it), where it fails instead.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("kvm")
@ExtendWith(KvmCondition.class)
public @interface RequiresKvm {}
