"""The chip: NoC interface units, DRAM and host nodes, and the top level that joins them to the network."""
