# gnuplot script for `make bench`: per-access cost of each MMIO path (median
# bar, p99 whisker), and posted-write cost against burst length.
# Called with dat, svg and accel set (mk/bench.sh).
set terminal svg size 1100,480 dynamic font "sans,11"
set output svg
set multiplot layout 1,2 title sprintf("ioregionfd: cost of one guest access, one boot (accel %s)", accel)

set title "per access (median, whisker p99)"
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
unset multiplot
