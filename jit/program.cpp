// jit::Program: validation and helper resolution shared with the interpreter, then code generation.
#include <algorithm>

#include <fmt/format.h>

#include "jit/program_impl.h"
#include "jit/x86_64.h"

namespace tcbpf::jit {

std::unique_ptr<Program> Program::compile(const isa::Program& prog, const vm::HelperRegistry& helpers,
                                          Options options) {
#if !defined(__x86_64__)
    (void)prog, (void)helpers, (void)options;
    throw Unsupported("JIT: this host is not x86-64");
#else
    // The interpreter's prepare is the one place that decides what a runnable program is; running it
    // gives the JIT the same load errors, word for word ("pc 1: call to unknown helper id 99").
    (void)vm::Program::prepare(prog, helpers);

    auto impl = std::make_unique<Impl>();
    impl->source = prog;
    impl->helpers_by_id = helpers.callx_table();

    detail::CodegenInput input{.prog = impl->source,
                               .helper_at = std::vector<vm::HelperFn>(prog.size(), nullptr),
                               .helper_table = impl->helpers_by_id.data(),
                               .helper_table_size = impl->helpers_by_id.size(),
                               .options = options};
    for (size_t pc = 0; pc < prog.size(); ++pc) {
        const isa::Insn& insn = prog.insns[pc];
        if (insn.op == isa::Op::CALL_HELPER && insn.imm != vm::kHelperTailCall)
            input.helper_at[pc] = helpers.find(insn.imm)->fn;  // prepare proved it exists
    }
    detail::GeneratedCode code = detail::generate_x86_64(input);
    impl->entry = reinterpret_cast<detail::EntryFn>(reinterpret_cast<uintptr_t>(code.memory.base() + code.entry_offset));
    impl->tail_entry = code.memory.base() + code.tail_entry_offset;
    if (!code.uses_context)
        impl->direct_entry =
            reinterpret_cast<DirectEntry>(reinterpret_cast<uintptr_t>(code.memory.base() + code.entry_offset));
    impl->insn_offsets = std::move(code.insn_offsets);
    impl->code = std::move(code.memory);
    if (options.batch_frames && detail::batch_eligible(prog, *options.batch_frames)) {
        try {
            detail::GeneratedCode batch = detail::generate_x86_64(input, detail::EntryKind::Batch);
            impl->batch_entry =
                reinterpret_cast<BatchEntry>(reinterpret_cast<uintptr_t>(batch.memory.base() + batch.entry_offset));
            impl->batch_code = std::move(batch.memory);
        } catch (const Unsupported&) {
            // Only the copy above code_limit can be refused here; the program still runs through its
            // other entries, and batch_entry() stays nullptr as documented.
        }
    }
    return std::unique_ptr<Program>(new Program(std::move(impl)));
#endif
}

Program::Program(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Program::~Program() = default;

uint64_t Program::run(vm::Context& cx, uint64_t r1, uint64_t r2) const {
    cx.fault = vm::Fault::None;
    if (!cx.fault_detail.empty()) cx.fault_detail.clear();
    cx.tail_calls_done = 0;
    return impl_->entry(r1, r2, &cx);
}

Program::DirectEntry Program::direct_entry() const { return impl_->direct_entry; }
Program::BatchEntry Program::batch_entry() const { return impl_->batch_entry; }

size_t Program::code_size() const { return impl_->code.size(); }
const void* Program::code_address() const { return impl_->code.base(); }
const isa::Program& Program::source() const { return impl_->source; }
std::span<const uint32_t> Program::insn_offsets() const { return impl_->insn_offsets; }

}  // namespace tcbpf::jit
