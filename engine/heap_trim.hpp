#pragma once
// heap_trim — hands freed heap memory back to the system after a prefill chunk.
//
// A long prompt's chunks allocate large transient buffers (the K/V a chunk attends to, its
// activations) and free them at the end of the step; glibc keeps such memory for reuse and
// raises its trim threshold as large blocks come and go, so RSS drifts above the live working
// set and a memory-limited run is killed (tests/cluster/memory_bound_test.cpp: peak RSS 181 MiB
// against 153 MiB when trimmed). Trimming after prefill steps only keeps decode steps — whose
// buffers are reused step after step — free of page faults: a fixed process-wide trim threshold
// made vllm's decode gather 40% slower by re-faulting its staging every step.
namespace alisa::engine {

void return_freed_heap();

}  // namespace alisa::engine
