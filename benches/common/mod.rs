//! What the benchmarks share: the reference models of the issue tracker's
//! measurements (the CNN of `experiments/mnist-multitask.toml` and an MLP
//! 784→256→128) on `data/mnist10k`, as experiment files, and statistics.

#![allow(dead_code)] // each bench uses part of it

/// conv 32 (3×3, same) → relu → pool 2 → conv 64 → relu → pool 2 → flatten (3136).
pub const CNN: &str = "[[trunk.layers]]\ntype = \"conv2d\"\nout_channels = 32\nkernel = 3\npadding = \"same\"\n[[trunk.layers]]\ntype = \"relu\"\n[[trunk.layers]]\ntype = \"maxpool2d\"\nsize = 2\n[[trunk.layers]]\ntype = \"conv2d\"\nout_channels = 64\nkernel = 3\npadding = \"same\"\n[[trunk.layers]]\ntype = \"relu\"\n[[trunk.layers]]\ntype = \"maxpool2d\"\nsize = 2\n[[trunk.layers]]\ntype = \"flatten\"\n";
/// 784 → 256 → relu → 128 → relu.
pub const MLP: &str = "[trunk]\ninput = [784]\n[[trunk.layers]]\ntype = \"linear\"\nout = 256\n[[trunk.layers]]\ntype = \"relu\"\n[[trunk.layers]]\ntype = \"linear\"\nout = 128\n[[trunk.layers]]\ntype = \"relu\"\n";

/// An experiment on data/mnist10k with `trunk` and, for 3 tasks, digit,
/// parity and high; for another count, one-vs-rest "is it digit k" tasks.
/// Adam (lr 1e-3) at batch 32, as the PyTorch reference.
pub fn experiment(trunk: &str, tasks: usize, baselines: bool) -> String {
    let mut text = String::from(
        "[experiment]\nname = \"bench\"\n[data]\nformat = \"idx\"\nimages = \"data/mnist10k/images-idx3-ubyte.gz\"\nlabels = \"data/mnist10k/labels-idx1-ubyte.gz\"\nsplit = { validation = 100, test = 100 }\n[train]\nbatch_size = 32\noptimizer = { type = \"adam\", lr = 1e-3 }\n",
    );
    text.push_str(trunk);
    if tasks == 3 {
        text.push_str("[[tasks]]\nname = \"digit\"\nkind = \"classification\"\nlabel = \"label\"\nclasses = 10\n");
        text.push_str("[[tasks]]\nname = \"parity\"\nkind = \"classification\"\nlabel = \"label\"\nclasses = 2\nmap = [0,1,0,1,0,1,0,1,0,1]\n");
        text.push_str("[[tasks]]\nname = \"high\"\nkind = \"classification\"\nlabel = \"label\"\nclasses = 2\nmap = [0,0,0,0,0,1,1,1,1,1]\n");
    } else {
        for k in 0..tasks {
            let map: Vec<String> = (0..10).map(|d| u8::from(d == k).to_string()).collect();
            text.push_str(&format!(
                "[[tasks]]\nname = \"is{k}\"\nkind = \"binary\"\nlabel = \"label\"\nmap = [{}]\n",
                map.join(",")
            ));
        }
    }
    text.push_str(&format!("[baselines]\nsingle_task = {baselines}\n"));
    text
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

pub fn min_max(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}
