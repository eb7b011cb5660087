// Flat RAM of the run-elf system: WORDS 32-bit words, two synchronous ports.
// Hand-written (instantiated by sim/runelf/system.py) because Amaranth's
// Memory writes every word's initial value into the Verilog, which made a
// 4 MiB memory take minutes to export; here one loop zeroes it at time 0.
//
//   i port: read only (instruction fetch).  When i_en is high, i_rdata
//           takes mem[i_addr] at the clock edge; otherwise it holds.
//   d port: read/write (core data bus or the host loader).  When d_en is
//           high, d_rdata takes mem[d_addr] as it was before this edge's
//           write (read-before-write); d_we[k] writes byte lane k.
//   clear:  zeroes every word at the clock edge (the system drives it with
//           its reset, so each program run after a reset starts from zeroed
//           RAM, as when the simulation starts).  Simulation model only.
// Both reads see the contents before a write or clear in the same cycle:
// mem is written with blocking assignments after the reads, in this one
// block, and read nowhere else.
module tessera_runelf_ram #(
    parameter integer WORDS = 1048576,
    parameter integer ADDR_BITS = 20
) (
    input  wire                 clk,
    input  wire                 clear,
    input  wire                 i_en,
    input  wire [ADDR_BITS-1:0] i_addr,
    output reg  [31:0]          i_rdata,
    input  wire                 d_en,
    input  wire [ADDR_BITS-1:0] d_addr,
    input  wire [3:0]           d_we,
    input  wire [31:0]          d_wdata,
    output reg  [31:0]          d_rdata
);
    reg [31:0] mem [0:WORDS-1];

    // Unwritten memory reads as zero, as programs linked for riscv-tests expect of .bss.
    integer k;
    initial begin
        for (k = 0; k < WORDS; k = k + 1) mem[k] = 32'd0;
        i_rdata = 32'd0;
        d_rdata = 32'd0;
    end

    always @(posedge clk) begin
        if (i_en) i_rdata <= mem[i_addr];
        if (d_en) d_rdata <= mem[d_addr];
        if (clear) begin
            for (k = 0; k < WORDS; k = k + 1) mem[k] = 32'd0;
        end else begin
            if (d_we[0]) mem[d_addr][7:0]   = d_wdata[7:0];
            if (d_we[1]) mem[d_addr][15:8]  = d_wdata[15:8];
            if (d_we[2]) mem[d_addr][23:16] = d_wdata[23:16];
            if (d_we[3]) mem[d_addr][31:24] = d_wdata[31:24];
        end
    end
endmodule
