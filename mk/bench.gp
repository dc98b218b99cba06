# gnuplot script for `make bench`: per-access cost of each MMIO path (median
# bar, p99 whisker), posted-write cost against burst length, and the
# per-access latency distributions of ioregionfd and forwarded reads, and
# the events each path costs per access (all threads).
# Called with dat, svg and accel set (mk/bench.sh).
set terminal svg size 2000,480 dynamic font "sans,11"
set output svg
set multiplot layout 1,4 title sprintf("ioregionfd: cost of one guest access, one boot (accel %s)", accel)

set title "per access (p50, whisker p99)"
set style data histogram
set style fill solid 0.6 border -1
set boxwidth 0.7
set ylabel "ns (log)"
set logscale y
set xtics rotate by -35 noenhanced font ",9"
set grid ytics
unset key
plot dat index 0 using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     ''  index 0 using 0:2:2:3 with yerrorbars lc rgb "black" pt 0

set title "posted writes in bursts, each closed by one read"
set xlabel "burst length (log)"
set ylabel "ns per write (log)"
set logscale xy
unset xtics
set xtics nomirror
set style data linespoints
plot dat index 1 using 1:2 with linespoints lw 2 pt 7 lc rgb "#cc6677"

set title "read latency, every timed access (CDF)"
set xlabel "ns (log)"
set ylabel "fraction of accesses"
set logscale x
unset logscale y
set yrange [0:1]
set key bottom right noenhanced
plot dat index 2 using 1:2 with steps lw 2 lc rgb "#4477aa" title "ioregionfd_read", \
     ''  index 3 using 1:2 with steps lw 2 lc rgb "#cc6677" title "forwarded_read"

set title "events per access, vCPU/VMM and device threads (counted)"
unset xlabel
set ylabel "events (log)"
unset logscale x
set logscale y
set yrange [0.01:1000]
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.7 border -1
set boxwidth 0.9
set xtics rotate by -35 noenhanced font ",9"
set key top left noenhanced font ",8" opaque box
plot dat index 4 using 2:xtic(1) title "VM exits" lc rgb "#4477aa", \
     ''  index 4 using 3 title "exits to userspace" lc rgb "#cc6677", \
     ''  index 4 using 4 title "system calls" lc rgb "#ddaa33", \
     ''  index 4 using 5 title "context switches" lc rgb "#117733"
unset multiplot
