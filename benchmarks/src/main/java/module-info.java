// SPDX-License-Identifier: Apache-2.0
/**
 * JMH benchmarks of vmm4j's hot paths. Build with {@code ./mvnw -pl benchmarks -am package -DskipTests} and run
 * {@code java -jar benchmarks/target/benchmarks.jar NAME -prof gc}.
 */
module dev.vmm4j.benchmarks {
    requires dev.vmm4j.vmm;
    requires dev.vmm4j.virtio;
    requires jmh.core;
}
