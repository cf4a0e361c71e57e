namespace SpineProd.Scheduler;

/// <summary>Time, waiting and randomness: the seam that lets retry and polling logic be tested instantly.</summary>
public interface IClock
{
    DateTimeOffset UtcNow { get; }
    void Sleep(TimeSpan duration);
    /// <summary>A uniform random number in [0, 1), for jitter.</summary>
    double NextDouble();
}

public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();
    public DateTimeOffset UtcNow => DateTimeOffset.UtcNow;
    public void Sleep(TimeSpan duration) { if (duration > TimeSpan.Zero) Thread.Sleep(duration); }
    public double NextDouble() => Random.Shared.NextDouble();
}

/// <summary>
/// Exponential backoff with "equal jitter": half the step is fixed, half random, so many clients
/// retrying against one busy controller spread out instead of returning in lockstep.
/// </summary>
public sealed record Backoff(TimeSpan First, TimeSpan Max, double Factor = 2.0)
{
    public static readonly Backoff Default = new(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(60));

    public TimeSpan Delay(int retry, IClock clock)
    {
        double step = Math.Min(Max.TotalMilliseconds, First.TotalMilliseconds * Math.Pow(Factor, Math.Max(0, retry - 1)));
        return TimeSpan.FromMilliseconds(step / 2 + clock.NextDouble() * step / 2);
    }
}
