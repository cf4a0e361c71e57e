using System.Runtime.CompilerServices;

namespace SpineProd.Tests.Infrastructure;

/// <summary>Paths of the repository under test, and scratch folders inside it (so global.json and nuget.config resolve the SDK).</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot([CallerFilePath] string file = "")
    {
        var dir = Path.GetDirectoryName(file);
        while (dir is not null && !File.Exists(Path.Combine(dir, "global.json"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("global.json not found above " + file);
    }

    public static string Path_(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>A fresh folder under artifacts/test-scratch (inside the repository, ignored by git).</summary>
    public static string Scratch(string name)
    {
        var dir = Path.Combine(Root, "artifacts", "test-scratch", $"{name}-{Guid.NewGuid():N}"[..Math.Min(name.Length + 9, 60)]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}
