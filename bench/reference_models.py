"""ecgtwin's networks written in Python PyTorch (eager) from the published description
(docs/DESIGN: VAE, Individual Base Extractor, condition tokens, DiT with AdaX blocks), with
the parameter names of the C++ modules so that one set of weights loads into both, and the
DDIM / DDPM samplers with the linear schedule (T = 1000, betas 0.00085 .. 0.012).

Works with torch 1.13 (Debian's python3-torch) and 2.x; where the fused
scaled_dot_product_attention exists (2.x) it is used, as the C++ code does.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

HAS_SDPA = hasattr(F, "scaled_dot_product_attention")

# Published sizes (the C++ defaults).
LEADS, LENGTH, LATENT_CHANNELS = 12, 1024, 4
VAE_CHANNELS, VAE_LAYERS, VAE_GROUPS, SCALING = (128, 256, 512, 512), 2, 32, 0.18215
LATENT_LENGTH = LENGTH >> (len(VAE_CHANNELS) - 1)
HIDDEN, DEPTH, HEADS, MLP_RATIO, FREQUENCY_DIM = 256, 7, 8, 4.0, 256
IBE_DEPTH, IBE_FFN = 3, 1024
STATEMENT_DIM, MAX_STATEMENTS = 768, 25
HR_STATS, AGE_STATS, SEX_VALUES = (77.95, 20.37), (64.25, 17.13), (0.5, 0.0, 1.0)
TIMESTEPS, BETA_START, BETA_END = 1000, 0.00085, 0.012


# ---- attention ----------------------------------------------------------------------------

def attention(q, k, v, mask):
    """softmax(q k^T / sqrt(D)) v; q [B, H, L, D], k, v [B, H, S, D], mask [B, S] bool
    (True = real key) or None. A query with no real key gets zero."""
    if HAS_SDPA:
        if mask is None:
            return F.scaled_dot_product_attention(q, k, v)
        keep = mask[:, None, None, :]
        v = v.masked_fill(~keep.transpose(-1, -2), 0.0)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
        return torch.where(mask.any(1)[:, None, None, None], out, torch.zeros((), dtype=out.dtype, device=out.device))
    scale = 1.0 / math.sqrt(q.size(-1))
    scores = torch.matmul(q * scale, k.transpose(-2, -1))
    if mask is None:
        return torch.matmul(torch.softmax(scores, -1), v)
    padded = ~mask[:, None, None, :]
    scores = scores.masked_fill(padded, float("-inf"))
    v = v.masked_fill(padded.transpose(-1, -2), 0.0)
    p = torch.softmax(scores, -1).masked_fill(~mask.any(1)[:, None, None, None], 0.0)
    return torch.matmul(p, v)


class Rotary:
    """RoPE with the head dimension split in halves (GPT-NeoX convention)."""

    def __init__(self, head_dim, base=10000.0):
        self.head_dim, self.base, self.cache = head_dim, base, {}

    def __call__(self, x):
        length = x.size(-2)
        key = (length, x.device, x.dtype)
        if key not in self.cache:
            half = self.head_dim // 2
            inv = torch.pow(torch.tensor(self.base, dtype=torch.float64),
                            -torch.arange(0, half, dtype=torch.float64) * 2.0 / self.head_dim)
            angles = torch.outer(torch.arange(0, length, dtype=torch.float64), inv)
            full = torch.cat([angles, angles], -1)
            self.cache[key] = (full.cos().to(x.device, x.dtype), full.sin().to(x.device, x.dtype))
        cos, sin = self.cache[key]
        half = x.size(-1) // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rotated * sin


class MultiHeadAttention(nn.Module):
    def __init__(self, dim, heads, context_dim=0, qkv_norm=False, rotary=False):
        super().__init__()
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.cross = context_dim > 0
        if self.cross:
            self.q = nn.Linear(dim, dim)
            self.kv = nn.Linear(context_dim, 2 * dim)
        else:
            self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.qkv_norm = qkv_norm
        if qkv_norm:
            self.q_norm = nn.LayerNorm(self.head_dim)
            self.k_norm = nn.LayerNorm(self.head_dim)
            self.v_norm = nn.LayerNorm(self.head_dim)
        self.rotary = Rotary(self.head_dim) if rotary and not self.cross else None

    def forward(self, x, context=None, mask=None):
        b, length, h, d = x.size(0), x.size(1), self.heads, self.head_dim
        if self.cross:
            source = x if context is None else context
            q = self.q(x).view(b, length, h, d).transpose(1, 2)
            kv = self.kv(source).view(b, source.size(1), 2, h, d).permute(2, 0, 3, 1, 4)
            k, v = kv[0], kv[1]
        else:
            qkv = self.qkv(x).view(b, length, 3, h, d).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
        if self.qkv_norm:
            q, k, v = self.q_norm(q), self.k_norm(k), self.v_norm(v)
        if self.rotary is not None:
            q, k = self.rotary(q), self.rotary(k)
        out = attention(q, k, v, mask)
        return self.proj(out.transpose(1, 2).reshape(b, length, self.dim))


# ---- condition tokens and the Individual Base Extractor -----------------------------------

class ConditionEncoder(nn.Module):
    def __init__(self, token_dim):
        super().__init__()
        self.proj = nn.Linear(STATEMENT_DIM + 3, token_dim)
        self.position_embedding = nn.Parameter(torch.randn(MAX_STATEMENTS, token_dim) * 0.02)
        self.norm = nn.LayerNorm(token_dim)
        self.register_buffer("hr_stats", torch.tensor(HR_STATS, dtype=torch.float32))
        self.register_buffer("age_stats", torch.tensor(AGE_STATS, dtype=torch.float32))
        self.register_buffer("sex_values", torch.tensor(SEX_VALUES, dtype=torch.float32))

    def scalar_features(self, heart_rate, age, sex):
        def standardise(value, stats):
            value = value.to(stats.device, torch.float32)
            return torch.where(torch.isnan(value), torch.zeros_like(value), (value - stats[0]) / stats[1])
        sex_value = self.sex_values.index_select(0, sex.to(self.sex_values.device, torch.int64))
        return torch.stack([standardise(heart_rate, self.hr_stats), standardise(age, self.age_stats), sex_value], 1)

    def forward(self, statements, mask, demographics):
        b, s = statements.size(0), statements.size(1)
        scalars = self.scalar_features(*demographics).to(statements.dtype)
        features = torch.cat([statements, scalars.unsqueeze(1).expand(b, s, 3)], 2)
        tokens = self.norm(self.proj(features) + self.position_embedding[:s])
        keep = mask.bool()
        return torch.where(keep.unsqueeze(2), tokens, torch.zeros_like(tokens)), keep


class ExtractorLayer(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = MultiHeadAttention(hidden, heads, rotary=True)
        self.norm2 = nn.LayerNorm(hidden)
        self.cross_attn = MultiHeadAttention(hidden, heads, context_dim=hidden)
        self.norm3 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential()
        self.mlp.add_module("fc1", nn.Linear(hidden, ffn))
        self.mlp.add_module("act", nn.GELU())
        self.mlp.add_module("fc2", nn.Linear(ffn, hidden))

    def forward(self, x, tokens, mask):
        x = x + self.attn(self.norm1(x))
        x = x - torch.relu(self.cross_attn(self.norm2(x), tokens, mask))  # subtractive
        return x + self.mlp(self.norm3(x))


class Extractor(nn.Module):
    def __init__(self, condition_dropout=0.15, temperature=0.07):
        super().__init__()
        self.condition_dropout = condition_dropout
        self.condition_encoder = ConditionEncoder(HIDDEN)
        self.input_proj = nn.Linear(LATENT_CHANNELS, HIDDEN)
        self.blocks = nn.ModuleList([ExtractorLayer(HIDDEN, HEADS, IBE_FFN) for _ in range(IBE_DEPTH)])
        self.norm = nn.LayerNorm(HIDDEN)
        self.null_token = nn.Parameter(torch.randn(HIDDEN) * 0.02)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))

    def forward(self, latent, tokens, mask):
        x = self.input_proj(latent.transpose(1, 2))
        for block in self.blocks:
            x = block(x, tokens, mask)
        return self.norm(x).mean(1)

    def drop_conditions(self, tokens, mask, drop):
        b, s = tokens.size(0), tokens.size(1)
        null_tokens = torch.cat([self.null_token.to(tokens.dtype).view(1, 1, -1).expand(b, 1, -1),
                                 torch.zeros_like(tokens)[:, 1:]], 1)
        null_mask = torch.arange(s, device=tokens.device).eq(0).expand(b, s)
        row = drop.to(tokens.device, torch.bool).view(b, 1)
        return torch.where(row.unsqueeze(2), null_tokens, tokens), torch.where(row, null_mask, mask.bool())

    def extract(self, latent, statements, mask, demographics, drop=None):
        tokens, keep = self.condition_encoder(statements, mask, demographics)
        if drop is not None:
            tokens, keep = self.drop_conditions(tokens, keep, drop)
        return self.forward(latent, tokens, keep)

    def sample_condition_drop(self, batch, generator):
        return torch.rand(batch, generator=generator).lt(self.condition_dropout).to(self.null_token.device)


def info_nce(a, b, logit_scale):
    an, bn = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = logit_scale.clamp_max(math.log(100.0)).exp() * torch.matmul(an, bn.t())
    labels = torch.arange(a.size(0), device=a.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels))


# ---- the DiT denoiser with AdaX blocks -----------------------------------------------------

def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(torch.arange(0, half, dtype=torch.float32, device=t.device) * (-math.log(max_period) / half))
    args = t.to(torch.float32).unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.cos(args), torch.sin(args)], -1)


def modulate(x, shift, scale):
    return torch.addcmul(shift.unsqueeze(1), x, 1 + scale.unsqueeze(1))


class TimestepEmbedder(nn.Module):
    def __init__(self, hidden, frequency_dim):
        super().__init__()
        self.frequency_dim = frequency_dim
        self.mlp = nn.Sequential(nn.Linear(frequency_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, t):
        return self.mlp(timestep_embedding(t, self.frequency_dim).to(self.mlp[0].weight.dtype))


class Mlp(nn.Module):
    def __init__(self, dim, hidden_dim):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden_dim), nn.Linear(hidden_dim, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class AdaXBlock(nn.Module):
    """x += g1 SelfAttn(mod(LN x)); x += CrossAttn(LN x, tokens); x += g2 MLP(mod(LN x))."""

    def __init__(self, hidden, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.attn = MultiHeadAttention(hidden, heads, rotary=True)
        self.norm_cross = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.cross_attn = MultiHeadAttention(hidden, heads, context_dim=hidden, qkv_norm=True)
        self.norm2 = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden, int(hidden * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 6 * hidden))

    def forward(self, x, c, tokens, mask):
        shift1, scale1, gate1, shift2, scale2, gate2 = self.adaLN_modulation(c).chunk(6, 1)
        x = x + gate1.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift1, scale1))
        x = x + self.cross_attn(self.norm_cross(x), tokens, mask)
        return x + gate2.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    def __init__(self, hidden, out_features):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden, out_features)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden, 2 * hidden))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, 1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class DitDenoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.x_embedder = nn.Module()
        self.x_embedder.proj = nn.Conv1d(LATENT_CHANNELS, HIDDEN, 1, stride=1)
        self.t_embedder = TimestepEmbedder(HIDDEN, FREQUENCY_DIM)
        self.base_embedder = nn.Linear(HIDDEN, HIDDEN)
        self.blocks = nn.ModuleList([AdaXBlock(HIDDEN, HEADS, MLP_RATIO) for _ in range(DEPTH)])
        self.final_layer = FinalLayer(HIDDEN, LATENT_CHANNELS)

    def forward(self, x, t, base_vector, tokens, mask):
        c = self.t_embedder(t) + self.base_embedder(base_vector)
        h = self.x_embedder.proj(x).transpose(1, 2)
        for block in self.blocks:
            h = block(h, c, tokens, mask.bool())
        h = self.final_layer(h, c)  # [B, T, C] with patch 1
        return h.transpose(1, 2).contiguous()


# ---- the autoencoder (1D AutoencoderKL, diffusers names) -----------------------------------

def _conv(cin, cout, kernel, stride=1):
    return nn.Conv1d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def _group_norm(channels):
    return nn.GroupNorm(VAE_GROUPS, channels, eps=1e-6)


class ResnetBlock1d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = _group_norm(cin), _conv(cin, cout, 3)
        self.norm2, self.conv2 = _group_norm(cout), _conv(cout, cout, 3)
        self.conv_shortcut = _conv(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class AttentionBlock1d(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.group_norm = _group_norm(channels)
        self.to_q, self.to_k, self.to_v = (nn.Linear(channels, channels) for _ in range(3))
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])

    def forward(self, x):
        h = self.group_norm(x).transpose(1, 2)
        q, k, v = self.to_q(h), self.to_k(h), self.to_v(h)
        weights = torch.softmax(torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(x.size(1))), -1)
        return x + self.to_out[0](torch.matmul(weights, v)).transpose(1, 2)


class MidBlock1d(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock1d(channels, channels), ResnetBlock1d(channels, channels)])
        self.attentions = nn.ModuleList([AttentionBlock1d(channels)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Resampler(nn.Module):
    def __init__(self, channels, down):
        super().__init__()
        self.down = down
        self.conv = _conv(channels, channels, 3, 2 if down else 1)

    def forward(self, x):
        return self.conv(x) if self.down else self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    def __init__(self, cin, cout, count, down, up):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock1d(cin if i == 0 else cout, cout) for i in range(count)])
        if down:
            self.downsamplers = nn.ModuleList([Resampler(cout, True)])
        if up:
            self.upsamplers = nn.ModuleList([Resampler(cout, False)])

    def forward(self, x):
        for block in self.resnets:
            x = block(x)
        for name in ("downsamplers", "upsamplers"):
            if hasattr(self, name):
                x = getattr(self, name)[0](x)
        return x


class VaeEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        ch = VAE_CHANNELS
        self.conv_in = _conv(LEADS, ch[0], 3)
        self.down_blocks = nn.ModuleList([
            Level(ch[0] if i == 0 else ch[i - 1], ch[i], VAE_LAYERS, i + 1 < len(ch), False) for i in range(len(ch))])
        self.mid_block = MidBlock1d(ch[-1])
        self.conv_norm_out = _group_norm(ch[-1])
        self.conv_out = _conv(ch[-1], 2 * LATENT_CHANNELS, 3)

    def forward(self, x):
        x = self.conv_in(x)
        for level in self.down_blocks:
            x = level(x)
        return self.conv_out(F.silu(self.conv_norm_out(self.mid_block(x))))


class VaeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        ch = list(reversed(VAE_CHANNELS))
        self.conv_in = _conv(LATENT_CHANNELS, ch[0], 3)
        self.mid_block = MidBlock1d(ch[0])
        self.up_blocks = nn.ModuleList([
            Level(ch[0] if i == 0 else ch[i - 1], ch[i], VAE_LAYERS + 1, False, i + 1 < len(ch)) for i in range(len(ch))])
        self.conv_norm_out = _group_norm(ch[-1])
        self.conv_out = _conv(ch[-1], LEADS, 3)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for level in self.up_blocks:
            x = level(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = VaeEncoder(), VaeDecoder()
        self.quant_conv = _conv(2 * LATENT_CHANNELS, 2 * LATENT_CHANNELS, 1)
        self.post_quant_conv = _conv(LATENT_CHANNELS, LATENT_CHANNELS, 1)

    def encode(self, x):
        mu, logvar = self.quant_conv(self.encoder(x)).chunk(2, 1)
        return mu, logvar.clamp(-30.0, 20.0)

    def sample(self, mu, logvar, generator=None):
        noise = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
        return SCALING * (mu + torch.exp(0.5 * logvar) * noise)

    def encode_latent(self, x):
        return SCALING * self.encode(x)[0]

    def decode(self, z):
        return self.decoder(self.post_quant_conv(z / SCALING))

    def forward(self, x, generator=None):
        mu, logvar = self.encode(x)
        return self.decode(self.sample(mu, logvar, generator)), mu, logvar


def autoencoder_loss(reconstruction, target, mu, logvar, kl_weight):
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
    return F.mse_loss(reconstruction, target) + kl_weight * kl


# ---- diffusion -----------------------------------------------------------------------------

class Schedule:
    def __init__(self, device="cpu"):
        n = TIMESTEPS
        betas = [BETA_START + (i / (n - 1)) * (BETA_END - BETA_START) for i in range(n)]
        self.betas, self.alphas_cumprod, product = betas, [], 1.0
        for beta in betas:
            product *= 1.0 - beta
            self.alphas_cumprod.append(product)
        ac = torch.tensor(self.alphas_cumprod, dtype=torch.float64, device=device)
        self.sqrt_ac, self.sqrt_one_minus_ac = ac.sqrt(), (1.0 - ac).sqrt()

    def alpha_cumprod(self, t):
        return 1.0 if t < 0 else self.alphas_cumprod[t]

    def add_noise(self, x0, noise, t):
        view = [x0.size(0)] + [1] * (x0.dim() - 1)
        gather = lambda table: table.index_select(0, t).to(x0.dtype).view(view)
        return gather(self.sqrt_ac) * x0 + gather(self.sqrt_one_minus_ac) * noise


def epsilon_loss(denoiser, schedule, x0, conditions, generator=None):
    t = torch.randint(0, TIMESTEPS, (x0.size(0),), generator=generator, device=x0.device)
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    predicted = denoiser(schedule.add_noise(x0, noise, t), t, *conditions)
    return F.mse_loss(predicted, noise)


def sampling_timesteps(sampler, steps):
    """Trailing spacing (diffusers: round(arange(T, 0, -T/steps)) - 1); DDPM visits all T."""
    n = TIMESTEPS if sampler == "ddpm" else steps
    return [int(math.floor(TIMESTEPS - i * TIMESTEPS / n + 0.5)) - 1 for i in range(n)]


@torch.no_grad()
def sample(denoiser, schedule, shape, conditions, sampler="ddim", steps=50, eta=0.0, seed=0,
           initial_noise=None, device="cpu", dtype=torch.float32):
    """Ancestral DDPM / DDIM from x_T; every random number drawn on the CPU from `seed`
    (x_T first, then the noise of the stochastic steps in blocks of 64 steps)."""
    timesteps = sampling_timesteps(sampler, steps)
    ddpm = sampler == "ddpm"
    n = len(timesteps)
    sigmas = []
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < n else -1
        if ddpm:
            a_t, a_prev = schedule.alpha_cumprod(t), schedule.alpha_cumprod(t - 1)
            sigma = math.sqrt(schedule.betas[t] * (1.0 - a_prev) / (1.0 - a_t)) if t > 0 else 0.0
        else:
            a_t, a_prev = schedule.alpha_cumprod(t), schedule.alpha_cumprod(t_prev)
            sigma = math.sqrt(eta * eta * (1.0 - a_prev) / (1.0 - a_t) * (1.0 - a_t / a_prev))
        sigmas.append(sigma)
    noisy_steps = sum(1 for s in sigmas if s > 0.0)
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.randn(shape, generator=generator)
    x = (initial_noise if initial_noise is not None else drawn).to(device, dtype)
    block, block_size, taken = None, 0, 0
    was_training = denoiser.training
    denoiser.eval()
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < n else -1
        eps = denoiser(x, torch.full((x.size(0),), t, dtype=torch.long, device=x.device), *conditions)
        a_t, a_prev, sigma = schedule.alpha_cumprod(t), schedule.alpha_cumprod(t_prev), sigmas[i]
        if ddpm:
            beta = schedule.betas[t]
            a_prev = schedule.alpha_cumprod(t - 1)
            c_x0 = beta * math.sqrt(a_prev) / (1.0 - a_t)
            c_xt = (1.0 - a_prev) * math.sqrt(1.0 - beta) / (1.0 - a_t)
            x_coefficient = c_x0 / math.sqrt(a_t) + c_xt
            eps_coefficient = -c_x0 * math.sqrt(1.0 - a_t) / math.sqrt(a_t)
        else:
            direction = math.sqrt(max(0.0, 1.0 - a_prev - sigma * sigma))
            x_coefficient = math.sqrt(a_prev / a_t)
            eps_coefficient = direction - math.sqrt(a_prev) * math.sqrt(1.0 - a_t) / math.sqrt(a_t)
        nxt = x * x_coefficient + eps * eps_coefficient
        if sigma > 0.0:
            if taken == block_size:
                block_size = min(64, noisy_steps)
                block = torch.randn([block_size] + list(shape), generator=generator).to(device, dtype)
                taken = 0
            nxt = nxt + block[taken] * sigma
            taken += 1
            noisy_steps -= 1
        x = nxt
    denoiser.train(was_training)
    return x
