namespace SpineProd.Tests.Infrastructure;

/// <summary>
/// Stand-ins for sbatch and scancel first on PATH that only record that they were called (and
/// fail), for tests that prove something never reaches the scheduler. Dispose restores PATH.
/// </summary>
public sealed class Tripwire : IDisposable
{
    private readonly string? _path;
    private readonly string _record;

    private Tripwire(string dir)
    {
        var bin = Path.Combine(dir, "tripwire-bin");
        Directory.CreateDirectory(bin);
        _record = Path.Combine(dir, "tripwire-was-called");
        foreach (var tool in new[] { "sbatch", "scancel" })
        {
            var file = Path.Combine(bin, tool);
            File.WriteAllText(file, $"#!/bin/sh\necho \"{tool} $*\" >> '{_record}'\nexit 1\n");
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", bin + ":" + _path);
    }

    public static Tripwire Install(string dir) => new(dir);

    public bool WasCalled => File.Exists(_record);

    public void Dispose() => Environment.SetEnvironmentVariable("PATH", _path);
}
