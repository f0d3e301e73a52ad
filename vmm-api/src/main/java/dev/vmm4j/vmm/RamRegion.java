package dev.vmm4j.vmm;

/** A range of guest RAM an architecture lays out: {@code size} bytes from guest-physical {@code start}. */
public record RamRegion(long start, long size) {}
