package kafkabroadcast

// partitionOf is the partition of team in a topic of n partitions. It is the
// only partitioning function: the producer sets every record's partition with
// it (sarama's manual partitioner), and subscribers and Last use it to find the
// partition holding a team, so that all of a team's traffic lives in one
// partition of each topic. FNV-1a, 32 bits: stable across replicas, builds and
// Go versions.
func partitionOf(team string, n int32) int32 {
	const (
		offset32 = 2166136261
		prime32  = 16777619
	)
	h := uint32(offset32)
	for i := 0; i < len(team); i++ {
		h ^= uint32(team[i])
		h *= prime32
	}
	return int32(h % uint32(n))
}
