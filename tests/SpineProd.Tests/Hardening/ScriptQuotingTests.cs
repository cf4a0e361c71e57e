using System.Text;
using SpineProd.Scheduler;
using SpineProd.Tests.Infrastructure;
using Xunit;

namespace SpineProd.Tests.Hardening;

/// <summary>
/// Every rendered script, with hostile values in every property that reaches it, has no unquoted
/// expansion (outside the right-hand side of an assignment, where bash does not split or glob), no
/// eval, and parses.
/// </summary>
[Collection("msbuild")]
public sealed class ScriptQuotingTests
{
    /// <summary>Unquoted $-expansions of a bash script, as "line: text", except in assignments and $(( )).</summary>
    public static List<string> UnquotedExpansions(string script)
    {
        var found = new List<string>();
        var lines = script.Split('\n');
        for (int n = 0; n < lines.Length; n++)
        {
            var line = lines[n];
            var trimmed = line.TrimStart();
            if (trimmed.StartsWith('#')) continue;
            // name=value, local/readonly/export name=value: the value is neither split nor globbed.
            var assignment = System.Text.RegularExpressions.Regex.Match(trimmed, @"^(?:(?:local|readonly|export)\s+)?[A-Za-z_][A-Za-z0-9_]*=");
            int valueStart = assignment.Success ? line.Length - trimmed.Length + assignment.Length : -1;
            bool single = false, dbl = false;
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (single) { if (c == '\'') single = false; continue; }
                if (c == '\\') { i++; continue; }
                if (dbl) { if (c == '"') dbl = false; continue; }
                if (c == '\'') { single = true; continue; }
                if (c == '"') { dbl = true; continue; }
                if (c != '$' || i + 1 >= line.Length) continue;
                if (line[i + 1] == '(' && i + 2 < line.Length && line[i + 2] == '(') continue;     // arithmetic
                if (valueStart >= 0 && i >= valueStart && !line[valueStart..i].Any(char.IsWhiteSpace)) continue;
                if (line[i + 1] == '?' && trimmed.StartsWith("status=$?")) continue;
                found.Add($"{n + 1}: {line.Trim()}");
            }
        }
        return found;
    }

    [Fact]
    public void Hostile_values_reach_every_script_quoted()
    {
        var p = new ScratchProduction("quoting");
        var dir = Path.Combine(p.Dir, "in put$(touch PWNED)`id`;*'\"é");
        Directory.CreateDirectory(dir);
        var inputs = Enumerable.Range(0, 3).Select(i => Path.Combine(dir, $"run {i} $(touch PWNED) `id` ;*'\"ü.root")).ToList();
        inputs.ForEach(f => File.WriteAllText(f, ""));
        p.List("inputs.txt", inputs);
        File.WriteAllText(p.ProjectFile, "");
        // A hostile LArCV folder that exists (Build checks it has configure.sh, SPN1066).
        var larcv = Path.Combine(p.Dir, "lar cv `id` ;'q'");
        Directory.CreateDirectory(larcv);
        File.WriteAllText(Path.Combine(larcv, "configure.sh"), "");
        // and an OpT0Finder folder and a SPINE checkout (SPN1117, SPN1114)
        var flash = Path.Combine(p.Dir, "flash `touch PWNED` ;'q' \"dq\"");
        Directory.CreateDirectory(flash);
        File.WriteAllText(Path.Combine(flash, "configure.sh"), "");
        var spine = Path.Combine(p.Dir, "spine `id` ;'q'");
        Directory.CreateDirectory(Path.Combine(spine, "bin"));
        File.WriteAllText(Path.Combine(spine, "bin", "spine"), "");
        p.Write($"""
                <SpineCommand>python3 '{p.Dir}/spine $(touch PWNED) run.py' --flag='a;b' ${'$'}{'{'}SPINE_BASEDIR{'}'}/x</SpineCommand>
                <Container>singularity</Container>
                <ContainerImage>/images/my image `id`.sif</ContainerImage>
                <LarcvBaseDir>{larcv}</LarcvBaseDir>
                <Flashmatch>true</Flashmatch>
                <FlashmatchPath>{flash}</FlashmatchPath>
                <SpinePath>{spine}</SpinePath>
                <ContainerArgs>--env 'A=$(touch PWNED) `id`'</ContainerArgs>
                <ContainerBindPaths>/a b/`id`,/c;d</ContainerBindPaths>
                <Cvmfs>true</Cvmfs>
                <OutputDir>out dir 'q' `id`</OutputDir>
            """, """
                <Stage Include="reco" Config="spine.yaml" Cleanup="out dir 'q' `id`" />
                <Stage Include="ana" Config="spine.yaml" InputsFrom="reco" OutputDir="ana out" />
                <SourceList Include="inputs.txt" Stage="reco" />
            """);

        var outcome = p.Build();

        Assert.True(outcome.Succeeded, outcome.ErrorText);
        var scripts = Directory.GetFiles(p.PlanDir, "*.sbatch", SearchOption.AllDirectories);
        Assert.Equal(3, scripts.Length);   // reco, ana, cleanup of reco
        foreach (var script in scripts)
        {
            var text = File.ReadAllText(script);
            Assert.Empty(UnquotedExpansions(text));
            Assert.DoesNotMatch(@"(?m)^[^#]*\beval\b", text);
            var syntax = ProcessRunner.Instance.Run("bash", ["-n", script], TimeSpan.FromSeconds(10));
            Assert.True(syntax.Succeeded, $"{script}: {syntax.Stderr}");
        }
        Assert.Empty(Directory.GetFiles(p.Dir, "PWNED", SearchOption.AllDirectories));
    }

    [Fact]
    public void The_checker_catches_an_unquoted_expansion()
    {
        Assert.NotEmpty(UnquotedExpansions("rm -rf $dir\n"));
        Assert.NotEmpty(UnquotedExpansions("cmd --x=${value}\n"));
        Assert.Empty(UnquotedExpansions("x=$(date)\nrm -rf \"$dir\"\necho '$HOME'\ny=$((1 + 2))\n"));
    }
}
